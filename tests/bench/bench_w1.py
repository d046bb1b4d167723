#!/usr/bin/env python3
"""W1: a WordPress full-site rollback, the plan's script against rewind's level=full, same host, same data.

What it does, in a throwaway systemd container (``rewind-d-bench``, image local/debian12:rewind):

1. sets up the demo WordPress site (r1) and grows it to the reference data: a WordPress-like
   database of ``--db-mb`` MiB of SQL (posts, post meta, comments, in WordPress' own tables) and
   ``--files-mb`` MiB of uploads in ``--files`` files (60 % incompressible "images", 40 % text);
2. backs it up twice: as the plan's scripts expect (``mysqldump | gzip`` to
   ``db_backup_YYYYMMDD.sql.gz``, ``tar -czf`` of the site), and with ``playbooks/prepare.yml``
   (dump, prepared mariadb-backup copy, zstd site archive, config bundle);
3. deploys the broken r2 and saves that state, which every run starts from (restored untimed);
4. runs, alternately, ``--runs`` times each: the WordPress plan's own "Full Site Rollback" script
   (its commands as written; only paths and credentials adapted, see PLAN_SCRIPT) and
   ``ansible-playbook playbooks/rollback.yml -e level=full``;
5. prints the medians, the ratio, the physical floor (bytes the rollback must write ÷ the disk's
   write bandwidth, measured with dd of 1 GiB + fsync), and where rewind's time went: phases from the
   timeline callback, the physical restore's own steps, and the slowest tasks from profile_tasks.

It prints figures and never asserts timings. Run it from the repository root::

    source scripts/lib.sh
    python tests/bench/bench_w1.py --db-mb 200 --files-mb 200 --files 6000 --runs 3   # ~25 min here
    python tests/bench/bench_w1.py                                                     # 1 GiB each, 30k files

Measured on the shared 2-core build machine (AMD EPYC, overlayfs on ext4, other engineers' jobs
running, load average 6-9), at --db-mb 200 --files-mb 200 --files 6000 --runs 3: 207 MiB of SQL
(501 MiB data directory, 393 MiB physical copy), 250 MiB site in 8555 files. Medians of 3; the
same work took 26-94 s for the plan's script from one run to the next, so read them as such:

                                      plan's script   rewind level=full   site down (rewind)
    first pass                           78.4 s           117.1 s             56.1 s
    with the cuts (checksums, verify)    53.6 s            48.8 s             22.4 s
    best single runs                     26.1 s            39.5 s             14.8 s
    rewind, logical fallback (no SUPER)                    81.7 s             50.9 s  (load 24.2 s)
    physical floor: 644 MiB to write at 553 MB/s = 1.2 s

    The database server was stopped 0.6 s (copy-back 0.3 s); CHECKSUM TABLE proves it in 1.3 s.
    Ansible: 92 tasks, 33 module round trips at 0.53 s + 1.1 s start-up = 18.7 s, 38 % of the run.
    Slowest tasks: site tree swap 5.9 s (hash live 250 MiB, unpack, hash unpacked), services 6.4 s,
    homepage + login fetch 3.6 s (cold caches), physical copy verified 3.0 s, dump verified 3.0 s.

So at this size rewind is 1.1x the script end to end and 2.4x on downtime, not 20x. The script is
faster here than in the issue's figures (mysql loads 8-13 MB/s of SQL, not 2.4 MB/s), and rewind's
time is nearly all fixed cost that does not grow with the data: Ansible round trips (a third of
them the run journal's phase boundaries), the services, the page fetches, and proof (backups
verified before, checksums and digests after). What grows with the data is the copy (0.3 s here)
and the reads that prove it; the script's import grows linearly and is the whole of its time.

The plan's script as written stops MySQL and then pipes the dump into it: with no ``set -e`` the
import fails at once and the "rollback" restores no data at all. Timing that would measure a
rollback that does not roll the database back, so the one change made to its commands is a
``systemctl start mysql`` before the import (the server then restarts nothing at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGE = "local/debian12:rewind"
CONTAINER = "rewind-d-bench"
HOSTNAME = "bench1"
SITE = "/var/www/demo"
DATADIR = "/var/lib/mysql"
DB_USER, DB_NAME = "wordpress", "wordpress"
DB_PASS = "demo-Secr3t-pw"      # inventories/demo/group_vars/wordpress.yml; lives only in the throwaway container
BENCH = "/bench"                 # saved states and the plan's script, inside the container
PLAN_BACKUPS = "/backups/encompass-msp"

# The plan's "Full Site Rollback" script (plans/000_167159db7fa9f504.txt, Appendix). Adapted:
# BACKUP_DIR, SITE_DIR, DB_PASS and the archive's name (the demo site is /var/www/demo); and
# `systemctl start mysql` before the import, without which the import cannot run (see above).
PLAN_SCRIPT = r"""#!/bin/bash
# Full site rollback script

# Variables
BACKUP_DIR="%(backups)s"
SITE_DIR="%(site)s"
DB_USER="%(user)s"
DB_PASS="%(password)s"
DB_NAME="%(db)s"

# Stop services
echo "Stopping services..."
systemctl stop apache2 mysql
systemctl start mysql   # [bench] the only added command: the import below needs the server

# Restore database
echo "Restoring database..."
zcat $BACKUP_DIR/db_backup_$(date +%%Y%%m%%d).sql.gz | mysql -u$DB_USER -p$DB_PASS $DB_NAME

# Restore files
echo "Restoring files..."
tar -xzvf $BACKUP_DIR/demo_$(date +%%Y%%m%%d).tar.gz -C /var/www/

# Set permissions
echo "Setting permissions..."
chown -R www-data:www-data $SITE_DIR
find $SITE_DIR -type d -exec chmod 755 {} \;
find $SITE_DIR -type f -exec chmod 644 {} \;

# Restart services
echo "Starting services..."
systemctl start mysql apache2

echo "Rollback complete. Please verify the site."
""" % {"backups": PLAN_BACKUPS, "site": SITE, "user": DB_USER, "password": DB_PASS, "db": DB_NAME}

# Runs inside the container: grows the demo site's database and uploads to the reference size.
GENERATE = r'''
import os, random, subprocess, sys, time
db_bytes, files_bytes, files = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20261124)
letters = "etaoinshrdlucmfwypvbgkjqxz"
words = ["".join(rng.choice(letters[:rng.randint(8, 26)]) for _ in range(rng.randint(2, 11))) for _ in range(6000)]
sentences = [" ".join(rng.choices(words, k=rng.randint(6, 22))).capitalize() + "." for _ in range(8192)]
def text(n):
    out, size = [], 0
    while size < n:
        s = rng.choice(sentences); out.append(s); size += len(s) + 1
    return " ".join(out)
def esc(v):
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
os.makedirs("/bench/gen", exist_ok=True)
base = 100000
posts = open("/bench/gen/posts.tsv", "w"); meta = open("/bench/gen/meta.tsv", "w"); comments = open("/bench/gen/comments.tsv", "w")
written, post_id = 0, base
while written < db_bytes:
    post_id += 1
    day = "20%02d-%02d-%02d %02d:%02d:00" % (rng.randint(15, 25), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59))
    title = text(40)[:60]
    body = "\n\n".join("<!-- wp:paragraph --><p>%s</p><!-- /wp:paragraph -->" % text(rng.randint(200, 900)) for _ in range(rng.randint(2, 7)))
    slug = "-".join(title.lower().split()[:6])[:180] + "-%d" % post_id
    line = "\t".join([str(post_id), "1", day, day, esc(body), esc(title), "", "publish", slug, day, day,
                      "http://localhost/?p=%d" % post_id, "post", "", "", ""]) + "\n"
    posts.write(line); written += len(line)
    for key in ("_edit_last", "_edit_lock", "_thumbnail_id", "_wp_page_template", "_yoast_wpseo_title",
                "_yoast_wpseo_metadesc", "_wp_old_slug", "views", "_encloseme", "_pingme")[:rng.randint(4, 10)]:
        line = "%d\t%s\t%s\n" % (post_id, key, esc(text(rng.randint(5, 160))))
        meta.write(line); written += len(line)
    for _ in range(rng.randint(0, 4)):
        line = "\t".join([str(post_id), esc(text(12)[:30]), "visitor%d@example.com" % rng.randint(1, 99999), "",
                          "203.0.113.%d" % rng.randint(1, 254), day, day, esc(text(rng.randint(60, 700))), "1",
                          "Mozilla/5.0 (X11; Linux x86_64)", "comment"]) + "\n"
        comments.write(line); written += len(line)
for f in (posts, meta, comments):
    f.close()
load = """SET SESSION unique_checks=0, foreign_key_checks=0;
LOAD DATA LOCAL INFILE '/bench/gen/posts.tsv' INTO TABLE wp_posts (ID, post_author, post_date, post_date_gmt,
  post_content, post_title, post_excerpt, post_status, post_name, post_modified, post_modified_gmt, guid, post_type,
  to_ping, pinged, post_content_filtered);
LOAD DATA LOCAL INFILE '/bench/gen/meta.tsv' INTO TABLE wp_postmeta (post_id, meta_key, meta_value);
LOAD DATA LOCAL INFILE '/bench/gen/comments.tsv' INTO TABLE wp_comments (comment_post_ID, comment_author,
  comment_author_email, comment_author_url, comment_author_IP, comment_date, comment_date_gmt, comment_content,
  comment_approved, comment_agent, comment_type);
"""
subprocess.run(["mariadb", "--local-infile=1", "wordpress"], input=load.encode(), check=True)
for name in os.listdir("/bench/gen"):
    os.unlink(os.path.join("/bench/gen", name))
# uploads: 60 % incompressible images, 40 % text, sizes around the mean
mean = files_bytes / max(1, files)
uploads = "%s/wp-content/uploads" % sys.argv[4]
for n in range(files):
    folder = "%s/%d/%02d" % (uploads, 2015 + n % 11, 1 + (n // 11) % 12)
    os.makedirs(folder, exist_ok=True)
    if n % 5 < 3:
        path, data = "%s/image-%06d.jpg" % (folder, n), os.urandom(int(mean * 1.4 * rng.uniform(0.5, 1.5)))
    else:
        path, data = "%s/document-%06d.txt" % (folder, n), text(int(mean * 0.4 * rng.uniform(0.5, 1.5))).encode()
    with open(path, "wb") as handle:
        handle.write(data)
subprocess.run(["chown", "-R", "www-data:www-data", uploads], check=True)
subprocess.run(["find", uploads, "-type", "d", "-exec", "chmod", "0755", "{}", "+"], check=True)
subprocess.run(["find", uploads, "-type", "f", "-exec", "chmod", "0644", "{}", "+"], check=True)
'''


# Records every task's action, status and duration on the controller (the bench's own callback).
TASK_CALLBACK = r'''
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rewind_bench_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started, self.rows = {}, []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task._uuid] = time.monotonic()

    def _row(self, result, status):
        task = result._task
        self.rows.append({"name": task.get_name(), "action": task.action, "status": status,
                          "seconds": round(time.monotonic() - self.started.get(task._uuid, time.monotonic()), 3)})

    def v2_runner_on_ok(self, result, **kwargs):
        self._row(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._row(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._row(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["REWIND_BENCH_TASKS"], "w") as handle:
            json.dump(self.rows, handle)
'''
# Actions that run on the controller only: no module is sent to the host.
LOCAL_ACTIONS = {"set_fact", "assert", "debug", "fail", "meta", "include_tasks", "import_tasks", "include_role",
                 "import_role", "include_vars", "set_stats", "add_host", "group_by", "validate_argument_spec"}


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def sh(command, check=True, quiet=False):
    """Run bash -c in the container; return stdout."""
    proc = subprocess.run(["docker", "exec", "-i", CONTAINER, "bash", "-c", command], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("in %s: %s\nexit %d\n%s%s" % (CONTAINER, command[:300], proc.returncode,
                                                          proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout


def start_container():
    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", CONTAINER, "--hostname", HOSTNAME, "--privileged",
                    "--cgroupns=host", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--stop-signal", "SIGRTMIN+3",
                    IMAGE, "/sbin/init"], check=True, capture_output=True)
    for _ in range(150):
        if sh("systemctl is-system-running || true", check=False).strip() in ("running", "degraded"):
            return
        time.sleep(0.2)
    raise RuntimeError("container %s did not boot" % CONTAINER)


class Controller:
    """ansible-playbook runs against the container, with the demo inventory's group_vars."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.inventory = os.path.join(workdir, "hosts.yml")
        with open(self.inventory, "w") as handle:
            handle.write("all:\n  children:\n    wordpress:\n      hosts:\n        %s:\n          ansible_host: %s\n"
                         % (HOSTNAME, CONTAINER))
        os.symlink(os.path.join(ROOT, "inventories", "demo", "group_vars"), os.path.join(workdir, "group_vars"))
        os.makedirs(os.path.join(workdir, "callback_plugins"))
        with open(os.path.join(workdir, "callback_plugins", "rewind_bench_tasks.py"), "w") as handle:
            handle.write(TASK_CALLBACK)

    def play(self, playbook, *args, env=None, log_name=None):
        argv = ["ansible-playbook", "-i", self.inventory, os.path.join(ROOT, playbook)] + list(args)
        full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                        REWIND_RUN_DIR=os.path.join(self.workdir, "scratch"),
                        ANSIBLE_CALLBACK_PLUGINS=os.path.join(self.workdir, "callback_plugins"),
                        REWIND_BENCH_TASKS=os.path.join(self.workdir, "tasks.json"))
        full_env.update(env or {})
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = time.monotonic() - started
        with open(os.path.join(self.workdir, (log_name or os.path.basename(playbook)) + ".log"), "w") as handle:
            handle.write(proc.stdout)
        if proc.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv[3:]), proc.returncode, proc.stdout[-4000:]))
        return seconds, proc.stdout


def tasks_of_last_run(ctl):
    """[{name, action, status, seconds}] of the last playbook run (the bench's callback)."""
    with open(os.path.join(ctl.workdir, "tasks.json")) as handle:
        return json.load(handle)


def classify(rows):
    """(remote, local, skipped) task counts: modules sent to the host, controller-only actions, skipped."""
    remote = [r for r in rows if r["status"] != "skipped" and r["action"].rsplit(".", 1)[-1] not in LOCAL_ACTIONS]
    skipped = [r for r in rows if r["status"] == "skipped"]
    return len(remote), len(rows) - len(remote) - len(skipped), len(skipped)


def ansible_costs(ctl):
    """Seconds of ansible-playbook's start-up, of one module round trip to the host, of one controller-only
    task and of one skipped task: each playbook run three times, the median taken."""
    def playbook(name, body):
        path = os.path.join(ctl.workdir, name + ".yml")
        with open(path, "w") as handle:
            handle.write("- hosts: wordpress\n  gather_facts: false\n  tasks:%s\n" % (body or " []"))
        return path
    n = 20
    books = {
        "empty": playbook("empty", ""),
        "remote": playbook("remote", "".join("\n    - {name: ping %d, ansible.builtin.ping: {}}" % i for i in range(n))),
        "local": playbook("local", "".join("\n    - {name: fact %d, ansible.builtin.set_fact: {x%d: 1}}" % (i, i)
                                           for i in range(n))),
        "skipped": playbook("skipped", "".join("\n    - {name: skip %d, ansible.builtin.ping: {}, when: false}" % i
                                               for i in range(n))),
    }
    seconds = {}
    for name, path in books.items():
        seconds[name] = median([ctl.play(path, env={"ANSIBLE_CALLBACKS_ENABLED": "rewind_bench_tasks"},
                                         log_name="cost-" + name)[0]
                                for _ in range(3)])
    startup = seconds.pop("empty")
    return dict(startup=startup, **{k: (v - startup) / n for k, v in seconds.items()})


def checksums():
    out = sh("mariadb -N -e \"SELECT GROUP_CONCAT(CONCAT('\\`', table_name, '\\`') SEPARATOR ',') FROM "
             "information_schema.tables WHERE table_schema='%s' AND table_type='BASE TABLE'\"" % DB_NAME)
    tables = out.strip()
    rows = sh("mariadb -N %s -e 'CHECKSUM TABLE %s'" % (DB_NAME, tables))
    return dict(line.split("\t") for line in rows.splitlines())


def save_bad_state():
    """The broken r2 as deployed: every run starts from a byte-identical copy of it."""
    sh("systemctl stop apache2 mariadb && rm -rf %(b)s/bad && mkdir -p %(b)s/bad && "
       "cp -a %(d)s %(b)s/bad/mysql && cp -a %(s)s %(b)s/bad/site && cp -a /var/lib/rewind %(b)s/bad/rewind && "
       "cp -a /var/spool/cron/crontabs %(b)s/bad/crontabs && systemctl start mariadb apache2"
       % {"b": BENCH, "d": DATADIR, "s": SITE})


def reset_to_bad_state():
    """Untimed: r2's state back, rewind's snapshots gone, dirty pages on disk."""
    sh("systemctl stop apache2 mariadb; rm -rf %(d)s %(d)s.rewind-* %(s)s %(s)s.rewind-* "
       "/var/backups/rewind/demo/snapshots /var/lib/rewind /var/spool/cron/crontabs && "
       "cp -a %(b)s/bad/mysql %(d)s && cp -a %(b)s/bad/site %(s)s && cp -a %(b)s/bad/rewind /var/lib/rewind && "
       "cp -a %(b)s/bad/crontabs /var/spool/cron/crontabs && systemctl start mariadb apache2 && sync"
       % {"b": BENCH, "d": DATADIR, "s": SITE})
    time.sleep(2)


def run_plan_script():
    out = sh("s=$(date +%%s.%%N); bash %s/plan_rollback.sh > %s/plan_rollback.log 2>&1; rc=$?; e=$(date +%%s.%%N); "
             "echo $rc $s $e" % (BENCH, BENCH))
    rc, start, end = out.split()
    if rc != "0":
        raise RuntimeError("the plan's script exited %s; see %s/plan_rollback.log in %s" % (rc, BENCH, CONTAINER))
    return float(end) - float(start)


def timeline(run_dir):
    with open(os.path.join(run_dir, "timeline.json")) as handle:
        data = json.load(handle)
    host = data["hosts"][HOSTNAME]
    phases = {}
    for phase in host["phases"]:
        phases[phase["phase"]] = phases.get(phase["phase"], 0.0) + (phase["duration_s"] or 0.0)
        phases.setdefault("#tasks " + phase["phase"], 0)
        phases["#tasks " + phase["phase"]] += phase["tasks"]
    db = ((host.get("facts") or {}).get("rewind_result") or {}).get("db_restore") or {}
    return phases, db, data.get("metrics") or {}


def profile(output):
    """{task name: seconds} from profile_tasks' TASKS RECAP, and the task count."""
    tasks = {}
    recap = output.split("TASKS RECAP", 1)[-1]
    for line in recap.splitlines():
        match = re.match(r"^(.*?) -+ (\d+\.\d+)s$", line.strip())
        if match:
            tasks[match.group(1).strip()] = float(match.group(2))
    return tasks


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-mb", type=int, default=1024, help="SQL size of the generated database (MiB)")
    parser.add_argument("--files-mb", type=int, default=1024, help="bytes of generated uploads (MiB)")
    parser.add_argument("--files", type=int, default=30000, help="number of generated upload files")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, alternately (at least 3 for a median)")
    parser.add_argument("--logical-runs", type=int, default=1,
                        help="extra rewind runs with wordpress_db_restore_method=logical (the fallback path)")
    parser.add_argument("--keep", action="store_true", help="keep the container afterwards")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="rewind-bench-w1-")
    ctl = Controller(workdir)
    log("work folder %s; container %s" % (workdir, CONTAINER))
    try:
        return bench(args, ctl, workdir)
    finally:
        if not args.keep:
            subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)


def bench(args, ctl, workdir):
    start_container()
    # The image's /var/lib/mysql is in a lower overlayfs layer, which cannot be renamed (EXDEV);
    # a real host's can. Copied up once, it is an ordinary directory.
    sh("systemctl stop mariadb && cp -a %(d)s %(d)s.up && rm -rf %(d)s && mv %(d)s.up %(d)s && mkdir -p %(b)s %(p)s"
       % {"d": DATADIR, "b": BENCH, "p": PLAN_BACKUPS})
    log("setting up the demo site (r1)")
    ctl.play("playbooks/demo/wordpress_site.yml")
    ctl.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=good", log_name="deploy-good")
    sh("systemctl stop cron")  # wp-cron writes the database on its own schedule
    log("generating %d MiB of database and %d MiB in %d files" % (args.db_mb, args.files_mb, args.files))
    started = time.monotonic()
    subprocess.run(["docker", "exec", "-i", CONTAINER, "python3", "-", str(args.db_mb << 20), str(args.files_mb << 20),
                    str(args.files), SITE], input=GENERATE.encode(), check=True)
    log("generated in %.0f s" % (time.monotonic() - started))

    log("backing up as the plan's scripts do (mysqldump | gzip, tar -czf)")
    sh("mysqldump -u%s -p%s %s | gzip > %s/db_backup_$(date +%%Y%%m%%d).sql.gz && "
       "tar -C /var/www -czf %s/demo_$(date +%%Y%%m%%d).tar.gz demo"
       % (DB_USER, DB_PASS, DB_NAME, PLAN_BACKUPS, PLAN_BACKUPS))
    log("backing up with rewind (playbooks/prepare.yml)")
    prepare_s, _out = ctl.play("playbooks/prepare.yml", "-e", "rewind_release=r1")
    good = checksums()
    sizes = json.loads(sh(r"""python3 - <<'EOF'
import glob, json, os
def du(p):
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(p) for f in fs)
s = sorted(glob.glob("/var/backups/rewind/demo/*-pre-deploy"))[-1]
m = json.load(open(s + "/manifest.json"))
items = {i["path"]: i.get("size") for i in m["files"]}
print(json.dumps({"site": du("%s"), "files": sum(len(fs) for _, _, fs in os.walk("%s")), "datadir": du("%s"),
                  "physical": items.get("db.physical"), "dump_zst": items.get("db.sql.zst"),
                  "tar_zst": items.get("files.tar.zst"), "sql": int(os.popen("zstd -dc " + s + "/db.sql.zst | wc -c").read()),
                  "plan_sql_gz": du("%s") - os.path.getsize(glob.glob("%s/demo_*.tar.gz")[0]),
                  "plan_tar_gz": os.path.getsize(glob.glob("%s/demo_*.tar.gz")[0])}))
EOF""" % (SITE, SITE, DATADIR, PLAN_BACKUPS, PLAN_BACKUPS, PLAN_BACKUPS)))
    log("sizes: %s" % sizes)

    log("deploying the broken r2 and saving its state")
    ctl.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad", log_name="deploy-bad")
    save_bad_state()
    sh("cat > %s/plan_rollback.sh <<'EOF'\n%sEOF" % (BENCH, PLAN_SCRIPT))

    bandwidth = []
    for _ in range(2):
        out = sh("dd if=/dev/zero of=%s/dd.test bs=1M count=1024 conv=fsync 2>&1; rm -f %s/dd.test" % ("/var/lib", "/var/lib"))
        match = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", out)
        bandwidth.append(int(match.group(1)) / float(match.group(2)))
    write_bw = median(bandwidth)
    log("disk write bandwidth (dd 1 GiB + fsync): %.0f MB/s" % (write_bw / 1e6))

    plan_s, rewind_s, downtime_s, phase_runs, db_runs, task_runs = [], [], [], [], [], []
    env = {"ANSIBLE_CALLBACKS_ENABLED": "rewind.rollback.timeline,ansible.posix.profile_tasks,rewind_bench_tasks"}
    for run in range(args.runs):
        for which in (("plan", "rewind") if run % 2 == 0 else ("rewind", "plan")):
            reset_to_bad_state()
            if which == "plan":
                seconds = run_plan_script()
                restored = checksums()
                same = all(restored.get(t) == v for t, v in good.items())
                extra = sorted(set(restored) - set(good))
                plan_s.append(seconds)
                log("run %d: plan's script %.1f s (database tables %s%s)" % (
                    run + 1, seconds, "equal the backup" if same else "DIFFER from the backup",
                    "; left behind: " + ", ".join(extra) if extra else ""))
            else:
                run_dir = os.path.join(workdir, "rewind-%d" % run)
                os.makedirs(run_dir)
                seconds, output = ctl.play("playbooks/rollback.yml", "-e", "level=full",
                                           env=dict(env, REWIND_RUN_DIR=run_dir), log_name="rollback-%d" % run)
                phases, db, metrics = timeline(run_dir)
                phases["#rows"] = tasks_of_last_run(ctl)
                restored = checksums()
                rewind_s.append(seconds)
                downtime_s.append(metrics.get("downtime_s") or float("nan"))
                phase_runs.append(phases)
                db_runs.append(db)
                task_runs.append(profile(output))
                log("run %d: rewind %.1f s (downtime %.1f s; database %s; %s)" % (
                    run + 1, seconds, downtime_s[-1], "equals the backup" if restored == good else "DIFFERS",
                    db.get("method", "?")))
    logical = []
    for run in range(args.logical_runs):
        reset_to_bad_state()
        run_dir = os.path.join(workdir, "logical-%d" % run)
        os.makedirs(run_dir)
        seconds, _output = ctl.play("playbooks/rollback.yml", "-e", "level=full", "-e", "wordpress_db_restore_method=logical",
                                    env=dict(env, REWIND_RUN_DIR=run_dir), log_name="rollback-logical-%d" % run)
        phases, db, metrics = timeline(run_dir)
        logical.append((seconds, metrics.get("downtime_s") or float("nan"), db, phases))
        log("logical run %d: rewind %.1f s (downtime %.1f s; %s, load %.1f s, %s)" % (
            run + 1, seconds, logical[-1][1], db.get("method", "?"), db.get("seconds") or 0, db.get("tuning", "")))
    log("measuring Ansible's fixed costs on this host")
    costs = ansible_costs(ctl)
    report(args, sizes, write_bw, prepare_s, plan_s, rewind_s, downtime_s, phase_runs, db_runs, task_runs, logical, costs)
    return 0


def report(args, sizes, write_bw, prepare_s, plan_s, rewind_s, downtime_s, phase_runs, db_runs, task_runs, logical,
           costs):
    plan_m, rewind_m, down_m = median(plan_s), median(rewind_s), median(downtime_s)
    written = (sizes["physical"] or 0) + sizes["site"]
    floor = written / write_bw
    mb = 1 << 20
    print()
    print("W1 results: database %d MiB of SQL (datadir %d MiB, physical copy %d MiB), site %d MiB in %d files"
          % (sizes["sql"] / mb, sizes["datadir"] / mb, (sizes["physical"] or 0) / mb, sizes["site"] / mb, sizes["files"]))
    print("  backups: plan's sql.gz %d MiB + tar.gz %d MiB; rewind's db.sql.zst %d MiB + files.tar.zst %d MiB "
          "(+ physical); rewind prepare took %.0f s"
          % (sizes["plan_sql_gz"] / mb, sizes["plan_tar_gz"] / mb, (sizes["dump_zst"] or 0) / mb,
             (sizes["tar_zst"] or 0) / mb, prepare_s))
    print("  runs: plan's script %s s; rewind %s s (downtime %s s)"
          % (" ".join("%.1f" % s for s in plan_s), " ".join("%.1f" % s for s in rewind_s),
             " ".join("%.1f" % s for s in downtime_s)))
    print("  median: plan's script %.1f s, rewind %.1f s end to end -> %.1fx faster; site down %.1f s -> %.1fx"
          % (plan_m, rewind_m, plan_m / rewind_m, down_m, plan_m / down_m))
    print("  physical floor: %d MiB to write at %.0f MB/s = %.1f s; rewind is %.1fx the floor end to end, "
          "%.1fx while the site is down" % (written / mb, write_bw / 1e6, floor, rewind_m / floor, down_m / floor))
    if logical:
        print("  logical fallback (wordpress_db_restore_method=logical): %.1f s end to end, site down %.1f s, "
              "database load %.1f s (%s)" % (median([run[0] for run in logical]), median([run[1] for run in logical]),
                                             median([run[2].get("seconds") or 0 for run in logical]),
                                             logical[0][2].get("tuning", "?")))
    print()
    print("rewind's time by phase (median of %d runs, timeline.json)%s:"
          % (len(phase_runs), "; the logical fallback's on the right" if logical else ""))
    names = [k for k in phase_runs[0] if not k.startswith("#")] if phase_runs else []
    for name in names:
        print("  %-34s %6.1f s  %3d tasks%s" % (
            name[:34], median([p.get(name, 0.0) for p in phase_runs]), phase_runs[0].get("#tasks " + name, 0),
            "   %6.1f s" % median([run[3].get(name, 0.0) for run in logical]) if logical else ""))
    if db_runs and db_runs[0]:
        print("database restore (%s), module's own steps, median:" % db_runs[0].get("method"))
        for step in (db_runs[0].get("timings") or {}):
            print("  %-12s %6.2f s" % (step, median([(d.get("timings") or {}).get(step, 0.0) for d in db_runs])))
    print("slowest tasks (median, profile_tasks):")
    if task_runs:
        merged = {name: median([t.get(name, 0.0) for t in task_runs]) for name in task_runs[0]}
        for name, seconds in sorted(merged.items(), key=lambda kv: -kv[1])[:12]:
            print("  %6.2f s  %s" % (seconds, name))
    if phase_runs:
        remote, local, skipped = classify(phase_runs[0]["#rows"])
        fixed = costs["startup"] + remote * costs["remote"] + local * costs["local"] + skipped * costs["skipped"]
        print("Ansible's own overhead (pipelining on, no facts gathered): start-up %.1f s, %.2f s per module sent to "
              "the host, %.2f s per controller-only task, %.2f s per skipped task (ping, set_fact, when: false; "
              "median of 3 x %d)" % (costs["startup"], costs["remote"], costs["local"], costs["skipped"], 20))
        print("  a full rollback runs %d tasks: %d modules on the host, %d on the controller, %d skipped -> "
              "%.1f s of fixed cost, %.0f %% of rewind's %.1f s" % (remote + local + skipped, remote, local, skipped,
                                                                   fixed, 100 * fixed / rewind_m, rewind_m))


if __name__ == "__main__":
    sys.exit(main())
