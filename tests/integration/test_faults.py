"""Fault injection on a real WordPress host: the rollback is interrupted at each phase, then run again.

One container (the demo site of tests/integration/test_wordpress.py), reset to the broken release r2
between cells in seconds from a copy of its state taken once. Each cell injects one fault into a
level=full rollback, runs the rollback again the way an operator would, and classifies the result:

  OK         the second run succeeded, the host equals the pre-deployment backup (CHECKSUM TABLE and
             SHOW CREATE TABLE of every table, sha256 of every file, owner:group:mode of every entry,
             the crontab), no entry is world-writable, the lock is free and the run journal finished;
             and the pre-rollback snapshot that undo would bring back holds exactly what was live
             before the first run (the tables' checksums, the moved-aside site tree, wp-config.php,
             .htaccess and the crontab), with every file matching its manifest;
  data lost  that snapshot is missing, incomplete or not the pre-rollback state (undo would lose
             what was written after the deployment);
  stuck      the host did not end at the backup's state, or the second run failed.

The faults:
  SIGKILL      ansible-playbook and every process of its session are killed (kill -9) the moment
               the first task of the phase is announced; what the host was running finishes or dies
               on its own, as after a lost controller. Re-run: -e rewind_force_unlock=true (the
               operator knows the killed run is dead), which continues its journal.
  link cut     the docker connection has no network to cut: the analogue of a dead SSH link is to
               freeze the container (docker pause: every new `docker exec` fails at once, the one in
               flight hangs) and kill the controller side of the exec in flight. Ansible loses the
               host mid-phase; the container is thawed afterwards. Re-run with the same run id
               (-e rewind_run_id=…), the other way to continue a run.
  disk full    a 4 KiB tmpfs is mounted over the snapshot root: the snapshot fails, and the run must
               stop before any restore (checked on the first run); then the disk is freed.
  DB refuses   MariaDB is stopped as the phase before verify starts, so verify finds the database
               refusing connections; the run must fail at verify. Then MariaDB is started again.
  2nd rollback while a rollback run through the `rewind` CLI (ansible-runner) takes its snapshot,
               a second one is started with ansible-playbook: it must be refused (REWIND-E-LOCKED)
               and change nothing, and the first must complete. This cell also holds the security
               checks: the DB password never shows in `ps` (sampled on the controller and the host
               during both runs), in the Ansible log, in the CLI's run folder (ansible-runner
               artifacts, timeline, result, reports) or in either run's output.

A final test prints the table (fault × phase → OK / data lost / stuck); every cell must be OK.
REWIND_FAULTS=<fault>:<phase>,… runs only those cells. REWIND_FAULTS_MUTANT=<name> runs the suite
against a copy of the collection with a deliberately broken resume (see MUTANTS), to show that the
cells can turn red. REWIND_IT_PREFIX names the container (default rewind-it).
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import yaml

from conftest import ROOT

PASSWORD = "demo-Secr3t-pw"          # inventories/demo/group_vars/wordpress.yml
SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
SNAPSHOTS = "/var/backups/rewind/demo/snapshots"
STATE_DIR = "/var/lib/rewind/demo"
PREFIX = os.environ.get("REWIND_IT_PREFIX", "rewind-it")
ROLE_TASKS = os.path.join(ROOT, "roles", "wordpress", "tasks")

# Save the host's state once (at r2), and put it back before each cell: database, site tree with
# owners and modes, crontab, ledger; and nothing of the previous cell's run (snapshots, the
# moved-aside trees, journals, lock).
SAVE = r"""set -e
mkdir -p /root/rewind-faults
mysqldump --single-transaction --routines --triggers --events wordpress > /root/rewind-faults/db.sql
tar -C %(site)s --numeric-owner -cpf /root/rewind-faults/site.tar .
crontab -l -u www-data > /root/rewind-faults/crontab
cp -p %(state)s/releases.json /root/rewind-faults/releases.json
""" % {"site": SITE, "state": STATE_DIR}
RESET = r"""set -e
umount %(snapshots)s 2>/dev/null || true
systemctl start mariadb
mysql -e "DROP DATABASE wordpress; CREATE DATABASE wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
mysql wordpress < /root/rewind-faults/db.sql
rm -rf %(site)s %(site)s.rewind-* %(snapshots)s %(state)s/runs %(state)s/lock.json %(state)s/lock-history.jsonl
mkdir %(site)s
tar -C %(site)s --numeric-owner -xpf /root/rewind-faults/site.tar
crontab -u www-data /root/rewind-faults/crontab
cp -p /root/rewind-faults/releases.json %(state)s/releases.json
systemctl start apache2
""" % {"site": SITE, "snapshots": SNAPSHOTS, "state": STATE_DIR}

# What each pre-rollback snapshot set holds, read on the host: the manifest's table checksums, the
# moved-aside site tree (sha256 per file, like capture_state.py), the config bundle's files and
# crontab, and every archived file checked against its manifest sha256.
SNAPSHOT_CONTENTS = r"""
import glob, hashlib, io, json, os, subprocess, sys, tarfile
def sha(data): return hashlib.sha256(data).hexdigest()
def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path): out[rel] = "symlink:" + os.readlink(path)
            elif os.path.isfile(path): out[rel] = sha(open(path, "rb").read())
    return out
sets = []
for manifest_path in glob.glob(sys.argv[1] + "/*/manifest.json"):
    manifest, folder = json.load(open(manifest_path)), os.path.dirname(manifest_path)
    if manifest.get("label") != "pre-rollback":
        continue
    found = {"id": manifest["id"], "created_at": manifest["created_at"], "parts": {}, "problems": []}
    for item in manifest["files"]:
        kind = item["kind"]
        if item.get("format") == "dir":
            found["parts"][kind] = {"tree": tree(item["path"]) if os.path.isdir(item["path"]) else None}
            continue
        data = open(os.path.join(folder, item["path"]), "rb").read()
        if sha(data) != item["sha256"]:
            found["problems"].append("%s: sha256 differs from the manifest" % item["path"])
        if kind == "db":
            found["parts"]["db"] = {"tables": item.get("tables")}
        elif kind == "config":
            raw = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
            members = {}
            with tarfile.open(fileobj=io.BytesIO(raw)) as bundle:
                for member in bundle:
                    if member.isfile():
                        members[member.name] = bundle.extractfile(member).read().decode(errors="replace")
            found["parts"]["config"] = {"files": {k: sha(v.encode()) for k, v in members.items() if not k.startswith("crontab/")},
                                        "crontab": members.get("crontab/www-data")}
    sets.append(found)
print(json.dumps(sorted(sets, key=lambda s: s["created_at"])))
"""

# Deliberately broken resumes (REWIND_FAULTS_MUTANT), applied to a copy of the collection.
MUTANTS = {
    # The re-run takes over the killed run but does not check whether it already took its
    # snapshot: it snapshots again (under the same set id, which the snapshot module refuses).
    "skip-snapshot-check": ("plugins/module_utils/_journal.py",
                            '    if status and status.get("taken"):\n        facts.update(',
                            '    if False:  # MUTANT: the snapshot already taken is ignored\n        facts.update('),
    # No journal at all (the behaviour before resumability): the re-run is a new run that
    # snapshots whatever is live now, a half-restored site after a crash in the restore.
    "no-journal": ("plugins/module_utils/_journal.py",
                   "    unfinished = [j for j in journals if is_unfinished(j)]\n",
                   "    unfinished = []  # MUTANT: unfinished runs are not continued\n"),
}


def _first_task(phase_file, module=None):
    """The name of the first task of a phase file (or of its first task calling ``module``)."""
    with open(os.path.join(ROLE_TASKS, phase_file)) as handle:
        tasks = yaml.safe_load(handle)
    for task in tasks:
        if module is None or module in task:
            return task["name"]
    raise AssertionError("no task %s in %s" % (module, phase_file))


# phase → the task whose announcement triggers the fault (the first task of the phase file).
TRIGGERS = {
    "validate": _first_task("validate.yml"),
    "maintenance_on": _first_task("maintenance_on.yml"),
    "snapshot": _first_task("snapshot.yml"),
    "stop": _first_task("stop.yml"),
    "restore": _first_task("restore.yml"),
    "restore:tree": _first_task("restore.yml", "rewind.rollback.tree_restore"),    # the database is restored
    "permissions": _first_task("permissions.yml"),
    "restart": _first_task("restart.yml"),
    "maintenance_off": _first_task("maintenance_off.yml"),
    "verify": _first_task("verify.yml"),
}
CELLS = ([("SIGKILL", phase) for phase in TRIGGERS]
         + [("link cut", "snapshot"), ("link cut", "restore:tree"),
            ("disk full", "snapshot"), ("DB refuses", "verify"), ("2nd rollback", "snapshot")])
_ONLY = [c.strip() for c in os.environ.get("REWIND_FAULTS", "").split(",") if c.strip()]
SELECTED = [c for c in CELLS if not _ONLY or "%s:%s" % c in _ONLY]
TABLE = {}


# --- the host, the collection under test, the runs ------------------------------------------------

@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """Where the playbooks come from: the checkout, or a broken copy (REWIND_FAULTS_MUTANT)."""
    mutant = os.environ.get("REWIND_FAULTS_MUTANT")
    if not mutant:
        return {"root": ROOT, "env": {}, "mutant": None}
    path, old, new = MUTANTS[mutant]
    base = tmp_path_factory.mktemp("mutant")
    copy = base / "ansible_collections" / "rewind" / "rollback"
    copy.mkdir(parents=True)
    for part in ("galaxy.yml", "meta", "plugins", "roles", "playbooks"):
        source = os.path.join(ROOT, part)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, str(copy / part))
    text = (copy / path).read_text()
    assert text.count(old) == 1, "mutant %s no longer applies to %s: update MUTANTS" % (mutant, path)
    (copy / path).write_text(text.replace(old, new))
    paths = [str(base), os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"]
    return {"root": str(copy), "env": {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(paths)}, "mutant": mutant}


@pytest.fixture(scope="module")
def wp(host_factory, collection):
    host = host_factory(PREFIX + "-faults-wp", "wp1", "wordpress")
    host.capture = CAPTURE
    host.collection = collection
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert host.play(playbook, *args).returncode == 0, playbook
    # The crontab runs wp-cron.php every 5 minutes, which may write to the database at any
    # moment; the crontab stays in the compared state, the daemon stops for the suite.
    host.sh("systemctl stop cron")
    host.good = host.state()
    assert host.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad").returncode == 0
    host.sh(SAVE)
    host.bad = host.state()
    return host


def _env(host):
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOG_PATH=host.log,
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", **host.collection["env"])


def _argv(host, *args):
    return (["ansible-playbook", "-i", host.inventory, os.path.join(host.collection["root"], "playbooks", "rollback.yml"),
             "-e", "level=full"] + list(args))


def rollback(host, *args):
    proc = subprocess.run(_argv(host, *args), cwd=ROOT, env=_env(host), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    print("$ rollback %s -> %d\n%s" % (" ".join(args), proc.returncode, proc.stdout[-5000:]))
    return proc


def rollback_until(host, trigger, action, *args):
    """Run a rollback in its own session; when ``trigger`` is announced, call action(proc).

    Returns (returncode, output, whether the trigger was seen).
    """
    proc = subprocess.Popen(_argv(host, *args), cwd=ROOT, env=_env(host), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines, seen = [], False
    # A task the role includes from another role is announced without the role's prefix.
    announced = re.compile(r"^TASK \[(rewind\.rollback\.wordpress : )?%s\]" % re.escape(trigger))
    for line in proc.stdout:
        lines.append(line)
        if not seen and announced.match(line):
            seen = True
            action(proc)
    proc.wait()
    output = "".join(lines)
    print("$ rollback %s (fault at %r) -> %d\n%s" % (" ".join(args), trigger, proc.returncode, output[-5000:]))
    return proc.returncode, output, seen


def _descendants(pid):
    children = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid):
    try:
        return open("/proc/%d/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_for_orphans(host, seconds=120):
    """Let a module the killed controller left running on the host finish (as time would)."""
    deadline = time.monotonic() + seconds
    while "sleep 0" in host.sh("ps -eo args | grep -v grep | grep 'python3 && sleep 0' || true"):
        assert time.monotonic() < deadline, "a module kept running on the host for %d s" % seconds
        time.sleep(0.5)


# --- the faults ---------------------------------------------------------------------------------

def fault_sigkill(host, phase):
    run_id = "faults-%d" % time.time()
    rc, out, seen = rollback_until(host, TRIGGERS[phase], lambda proc: os.killpg(proc.pid, signal.SIGKILL),
                                   "-e", "rewind_run_id=%s" % run_id)
    assert seen and rc == -signal.SIGKILL, "the run was not killed at %s" % phase
    _wait_for_orphans(host)
    return [out], rollback(host, "-e", "rewind_force_unlock=true")


def fault_link_cut(host, phase):
    run_id = "faults-%d" % time.time()

    def cut(proc):
        subprocess.run(["docker", "pause", host.name], check=True, capture_output=True)
        for pid in _descendants(proc.pid):
            argv = _cmdline(pid).split()
            if argv and os.path.basename(argv[0]) == "docker" and "exec" in argv:
                os.kill(pid, signal.SIGKILL)
    try:
        rc, out, seen = rollback_until(host, TRIGGERS[phase], cut, "-e", "rewind_run_id=%s" % run_id)
    finally:
        subprocess.run(["docker", "unpause", host.name], capture_output=True)
    assert seen and rc != 0, "the link was not cut at %s" % phase
    _wait_for_orphans(host)
    assert host.sh("test -e %s/lock.json && echo held || true" % STATE_DIR).strip() == "held", \
        "a run that lost its host cannot release the lock"
    return [out], rollback(host, "-e", "rewind_run_id=%s" % run_id)


def fault_disk_full(host, phase):
    host.sh("mkdir -p %s && mount -t tmpfs -o size=4k rewind-full %s" % (SNAPSHOTS, SNAPSHOTS))
    try:
        first = rollback(host)
        during = host.state()
    finally:
        host.sh("umount %s" % SNAPSHOTS)
    assert first.returncode != 0 and "No space left on device" in first.stdout
    assert "TASK [rewind.rollback.wordpress : %s]" % TRIGGERS["restore"] not in first.stdout, "it went on to restore"
    # It stopped before any restore: all as before, but for the maintenance page it put up.
    assert during["tables"] == host.before["tables"] and during["crontab"] == host.before["crontab"]
    assert {k: v for k, v in during["tree"].items() if k != ".maintenance"} == host.before["tree"]
    return [first.stdout], rollback(host)


def fault_db_refuses(host, phase):
    stop_db = lambda proc: host.sh("systemctl stop mariadb")  # noqa: E731
    rc, out, seen = rollback_until(host, TRIGGERS["maintenance_off"], stop_db)
    assert seen and rc != 0
    assert re.search(r"wp1: failed at verify", out), "the run fails at verify, and the report says so"
    host.sh("systemctl start mariadb")
    return [out], rollback(host)


def _sample_ps(host, samples, stop):
    """Command lines of every process of this test's tree on the controller (the CLI, ansible-runner,
    ansible-playbook, its workers, docker exec) and of every process on the host, every 0.1 s."""
    while not stop.is_set():
        samples.extend(_cmdline(pid) for pid in _descendants(os.getpid()))
        samples.extend(host.sh("ps -eo args", check=False).splitlines())
        time.sleep(0.1)


def fault_second_rollback(host, phase):
    """The first run goes through the rewind CLI (ansible-runner); the second starts as it snapshots."""
    runs_dir = tempfile.mkdtemp(prefix="rewind-faults-runs-")
    env = dict(_env(host), REWIND_RUNS_DIR=runs_dir)
    inventory = tempfile.mkdtemp(prefix="rewind-faults-inventory-")  # the CLI links it: a folder keeps group_vars
    shutil.copy(host.inventory, inventory)
    os.symlink(os.path.join(ROOT, "inventories", "demo", "group_vars"), os.path.join(inventory, "group_vars"))
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=_sample_ps, args=(host, samples, stop))
    sampler.start()
    try:
        first = subprocess.Popen(["rewind", "run", "--level", "full", "-i", inventory, "--no-progress",
                                  "--reason", "checkout answers 500"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 600
        while not host.sh("ls %s 2>/dev/null || true" % SNAPSHOTS).strip():
            assert first.poll() is None, "the first rollback ended before its snapshot:\n" + first.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.3)
        second = rollback(host, "-e", "rewind_reason=a second operator")
        first_out = first.communicate()[0]
    finally:
        stop.set()
        sampler.join()
    print("$ rewind run --level full -> %d\n%s" % (first.returncode, first_out))
    assert second.returncode != 0 and "REWIND-E-LOCKED" in second.stdout, "the second rollback was not refused"
    assert "TASK [rewind.rollback.wordpress : %s]" % TRIGGERS["maintenance_on"] not in second.stdout

    # No secret anywhere: ps on both sides, the Ansible log, the run folder, both outputs.
    shown = sorted({s.replace(PASSWORD, "***")[:300] for s in samples if PASSWORD in s})
    assert samples and not shown, "the DB password showed in ps: %s" % shown
    # The run folder's own files; runner/inventory links to the operator's inventory (the demo's
    # group_vars hold the password in clear, "demo only"), which is not the run's to protect.
    written = [os.path.join(folder, name) for folder, _, names in os.walk(runs_dir) for name in names
               if not os.path.islink(os.path.join(folder, name))]
    leaks = [path for path in written if PASSWORD.encode() in open(path, "rb").read()]
    assert not leaks, "the DB password is in the run folder: %s" % leaks
    assert glob.glob(runs_dir + "/*/runner/artifacts/*/job_events/*.json"), "ansible-runner wrote no artifacts"
    assert glob.glob(runs_dir + "/*/report.*"), "the CLI wrote no report"
    assert PASSWORD not in open(host.log).read() and PASSWORD not in first_out + second.stdout
    shutil.rmtree(runs_dir)
    shutil.rmtree(inventory)
    completed = subprocess.CompletedProcess(first.args, first.returncode, first_out)
    return [second.stdout], completed


FAULTS = {"SIGKILL": fault_sigkill, "link cut": fault_link_cut, "disk full": fault_disk_full,
          "DB refuses": fault_db_refuses, "2nd rollback": fault_second_rollback}


# --- the verdict ----------------------------------------------------------------------------------

def _snapshot_problems(host, snapshots, after):
    """Why the snapshot undo would bring back is not the state before the rollback, or [].

    The site tree is not copied: the restore moves it aside into the snapshot. Until then the
    live tree is the pre-rollback one, and it is not lost."""
    if not snapshots:
        return ["no pre-rollback snapshot"]
    newest, before = snapshots[-1], host.before
    problems = list(newest["problems"])
    if len(snapshots) > 1:
        problems.append("%d pre-rollback snapshots (%s): the run took more than one"
                        % (len(snapshots), ", ".join(s["id"] for s in snapshots)))
    parts = newest["parts"]
    missing = [p for p in ("db", "files", "config") if p not in parts]
    if missing:
        problems.append("the snapshot undo uses (%s) lacks %s" % (newest["id"], ", ".join(missing)))
    if "db" in parts and parts["db"]["tables"] != before["tables"]:
        problems.append("its database is not the pre-rollback one")
    live = {k: v for k, v in after["tree"].items() if k != ".maintenance"}
    if "files" in parts and parts["files"]["tree"] != before["tree"] \
            and not (parts["files"]["tree"] is None and live == before["tree"]):
        problems.append("its site tree is not the pre-rollback one")
    if "config" in parts:
        config = parts["config"]
        for name in ("wp-config.php", ".htaccess"):
            if config["files"].get(SITE.lstrip("/") + "/" + name) != before["tree"].get(name):
                problems.append("its %s is not the pre-rollback one" % name)
        if config["crontab"] != before["crontab"]:
            problems.append("its crontab is not the pre-rollback one")
    return problems


def _state_problems(host, rerun, after):
    problems = [] if rerun.returncode == 0 else ["the second run failed (exit %d)" % rerun.returncode]
    for key in ("tables", "schema", "tree", "crontab", "modes"):
        if after[key] != host.good[key]:
            problems.append("%s differ from the backup" % key)
    writable = [path for path, mode in after["modes"].items() if int(mode[-1]) & 2]
    if writable:
        problems.append("world-writable: %s" % ", ".join(writable[:5]))
    if host.sh("test -e %s/lock.json && echo held || true" % STATE_DIR).strip():
        problems.append("the lock is still held")
    journals = [json.loads(line) for line in host.sh(
        "for f in %s/runs/*.json; do [ -e \"$f\" ] && python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' \"$f\"; done; true"
        % STATE_DIR).splitlines() if line.strip()]
    unfinished = [j["run_id"] for j in journals if j["status"] in ("running", "failed")]
    if unfinished:
        problems.append("unfinished run journal(s): %s" % ", ".join(unfinished))
    return problems


@pytest.mark.parametrize("fault, phase", SELECTED, ids=["%s@%s" % c for c in SELECTED])
def test_fault(wp, fault, phase):
    started = time.monotonic()
    wp.sh(RESET)
    wp.before = wp.state()
    assert wp.before == wp.bad, "the reset did not bring back r2"
    try:
        _, rerun = FAULTS[fault](wp, phase)
    except Exception:
        TABLE[fault, phase] = ("stuck", "the fault or the re-run went wrong (see the test's output)", 0)
        raise
    after = wp.state()
    snapshots = json.loads(wp.sh("python3 - %s <<'EOF'\n%s\nEOF" % (SNAPSHOTS, SNAPSHOT_CONTENTS)))
    lost, stuck = _snapshot_problems(wp, snapshots, after), _state_problems(wp, rerun, after)
    verdict = "data lost" if lost else "stuck" if stuck else "OK"
    TABLE[fault, phase] = (verdict, "; ".join(lost + stuck), time.monotonic() - started)
    assert verdict == "OK", "%s at %s: %s" % (fault, phase, TABLE[fault, phase][1])


def table_lines():
    """The fault × phase table, printed by conftest's pytest_terminal_summary (after every result,
    outside output capture) whenever a cell ran."""
    if not TABLE:
        return []
    mutant = os.environ.get("REWIND_FAULTS_MUTANT")
    faults = list(dict.fromkeys(f for f, _ in CELLS))
    phases = list(dict.fromkeys(p for _, p in CELLS))
    width = max(len(p) for p in phases) + 2
    lines = ["", "rewind fault injection, WordPress tier%s: final state after the fault and a re-run"
             % (" (MUTANT %s)" % mutant if mutant else ""),
             "phase".ljust(width) + "".join(f.ljust(14) for f in faults)]
    for phase in phases:
        row = phase.ljust(width)
        for fault in faults:
            cell = TABLE.get((fault, phase))
            row += (cell[0] if cell else ("not run" if (fault, phase) in CELLS else "")).ljust(14)
        lines.append(row)
    for (fault, phase), (verdict, detail, seconds) in sorted(TABLE.items()):
        if verdict != "OK":
            lines.append("  %s at %s: %s: %s" % (fault, phase, verdict, detail))
    lines.append("cells: %d OK of %d run, %.0f s" % (sum(v[0] == "OK" for v in TABLE.values()), len(TABLE),
                                                    sum(v[2] for v in TABLE.values())))
    return lines
