"""WordPress rollback on a real host: Apache 2 + mod_php, MariaDB 10.11, Debian's WordPress 6.

One container for the module, driven through the states a real incident goes through:
r1 set up and backed up (prepare.yml) → the broken r2 deployed → bad input refused →
dry run → the plan's three scenarios → level=full → the same rollback again → undo.
Every check compares the live state with a capture taken by playbooks/demo/files/capture_state.py
(CHECKSUM TABLE and SHOW CREATE TABLE per table, sha256 per file, owner:group:mode per entry, the
crontab), so each can fail.
"""

import re
import subprocess
import threading
import time

import pytest

from conftest import recap

PASSWORD = "demo-Secr3t-pw"          # inventories/demo/group_vars/wordpress.yml
SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
BACKUPS = "/var/backups/rewind/demo"
PLUGIN = "wp-content/plugins/rewind-contact"
THEME = "wp-content/themes/rewind-classic"


@pytest.fixture(scope="module")
def wp(host_factory):
    host = host_factory("rewind-it-wp1", "wp1", "wordpress")
    host.capture = CAPTURE
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/demo/wordpress_deploy.yml", ("-e", "release=good")),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert host.play(playbook, *args).returncode == 0, playbook
    # The crontab's wp-cron.php (and r2's CRM sync) write to the database on their own
    # schedule; the crontab itself is still compared, but the daemon must not run mid-test.
    host.sh("systemctl stop cron")
    host.good = host.state()
    deployed = host.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad")
    assert deployed.returncode == 0
    host.bad = host.state()
    return host


def rollback(wp, *args):
    return wp.play("playbooks/rollback.yml", *args)


def only(tree, prefix):
    return {k: v for k, v in tree.items() if k == prefix or k.startswith(prefix + "/")}


def without(tree, prefix):
    return {k: v for k, v in tree.items() if not (k == prefix or k.startswith(prefix + "/"))}


def http(wp, path="/"):
    out = wp.sh("curl -s -o /tmp/body -w '%%{http_code}' http://localhost%s; echo; cat /tmp/body" % path)
    code, _, body = out.partition("\n")
    return int(code), body


# --- bad input: refused before any service is stopped, nothing changed ------------------------

CRAFT = r'''
import glob, gzip, hashlib, json, os, shutil, subprocess, sys, tarfile, io
src, dst, how = sys.argv[1:4]
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("snapshots"))
set_dir = os.path.dirname(sorted(glob.glob(dst + "/*/manifest.json"))[-1])
man = json.load(open(set_dir + "/manifest.json"))
# The set holds a dump and a physical copy of the database (both of kind db): craft on the dump.
items = {i["kind"]: i for i in man["files"] if i.get("format") != "mysql-physical"}
def rehash(item):
    path = os.path.join(set_dir, item["path"])
    item["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    item["size"] = os.path.getsize(path)
if how == "sha256-mismatch":
    path = os.path.join(set_dir, items["files"]["path"])
    data = bytearray(open(path, "rb").read()); data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
elif how == "truncated-sql-gz":
    sql = subprocess.run(["zstd", "-dc", os.path.join(set_dir, items["db"]["path"])], capture_output=True, check=True).stdout
    gz = gzip.compress(sql)
    os.unlink(os.path.join(set_dir, items["db"]["path"]))
    items["db"].update(path="db.sql.gz", compression="gzip")
    # A dump-only set, as a plan's script leaves: the truncated dump is the only copy of the data.
    man["files"] = [i for i in man["files"] if i.get("format") != "mysql-physical"]
    open(os.path.join(set_dir, "db.sql.gz"), "wb").write(gz[: len(gz) // 2])
    rehash(items["db"])
elif how == "newest-corrupt":
    # an older valid copy of the set, 10 minutes older, and the newest one corrupted
    import datetime
    created = datetime.datetime.fromisoformat(man["created_at"].replace("Z", "+00:00"))
    older = json.loads(json.dumps(man))
    older["created_at"] = (created - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    older["id"] = "older-" + man["id"]
    shutil.copytree(set_dir, os.path.join(dst, older["id"]))
    json.dump(older, open(os.path.join(dst, older["id"], "manifest.json"), "w"))
    path = os.path.join(set_dir, items["files"]["path"])
    data = bytearray(open(path, "rb").read()); data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
elif how in ("tar-dotdot", "tar-absolute"):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("./index.php", "../evil.php" if how == "tar-dotdot" else "/etc/evil.conf"):
            info = tarfile.TarInfo(name); info.size = 5
            tar.addfile(info, io.BytesIO(b"<?php"))
    path = os.path.join(set_dir, items["files"]["path"])
    subprocess.run(["zstd", "-q", "-f", "-o", path], input=raw.getvalue(), check=True)
    rehash(items["files"])
json.dump(man, open(set_dir + "/manifest.json", "w"))
print(os.path.join(set_dir, items["db" if how == "truncated-sql-gz" else "files"]["path"]))
'''

BAD_INPUT = [
    ("no-level", (), None, "say how far to roll back"),
    ("unknown-level", ("-e", "level=fulll"), None, "unknown rollback level 'fulll'"),
    ("unknown-scenario", ("-e", "level=code", "-e", "wordpress_scenario=plugins"), None,
     "unknown wordpress_scenario 'plugins'"),
    ("no-backup-before-deployment", ("-e", "level=full", "-e", "rewind_deployed_at=2001-01-01T00:00:00Z"), None,
     "2001-01-01T00:00:00Z"),
    ("sha256-mismatch", ("-e", "level=full"), "sha256-mismatch", "sha256"),
    ("truncated-sql-gz", ("-e", "level=full"), "truncated-sql-gz", "db.sql.gz"),
    ("newest-corrupt-no-fallback", ("-e", "level=full"), "newest-corrupt", "sha256"),
    ("tar-dotdot", ("-e", "level=full"), "tar-dotdot", "../evil.php"),
    ("tar-absolute", ("-e", "level=full"), "tar-absolute", "/etc/evil.conf"),
]


@pytest.mark.parametrize("case, args, craft, message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_before_anything_changes(wp, case, args, craft, message):
    before = wp.state()
    extra = ()
    if craft:
        bad_file = wp.sh("python3 - %s /var/backups/rewind/crafted %s <<'EOF'\n%s\nEOF" % (BACKUPS, craft, CRAFT)).strip()
        extra = ("-e", "rewind_backup_root=/var/backups/rewind/crafted")
    result = rollback(wp, *(args + extra))
    assert result.returncode != 0
    assert message in result.stdout
    if craft:
        assert bad_file in result.stdout, "the message must name the bad file"
    assert "TASK [rewind.rollback.wordpress : Stop the web server]" not in result.stdout
    assert wp.sh("systemctl is-active apache2 mariadb").split() == ["active", "active"]
    assert wp.state() == before


# --- dry run ------------------------------------------------------------------------------------

def test_check_prints_the_plan_and_changes_nothing(wp):
    before = wp.state()
    result = rollback(wp, "-e", "level=full", "--check")
    assert result.returncode == 0
    plan = result.stdout
    assert "dry run, nothing will change" in plan
    assert re.search(r"backup:\s+db %s/\S+/db\.sql\.zst" % BACKUPS, plan)
    assert re.search(r"backup:\s+files %s/\S+/files\.tar\.zst" % BACKUPS, plan)
    assert "restore:  db, files, config" in plan
    assert "wp_rewind_hybrid" in plan, "the plan names the table the rollback removes"
    assert "services: stop apache2" in plan
    assert wp.state() == before


# --- the plan's scenarios: each restores only what it names ----------------------------------

def test_plugin_scenario_restores_only_the_plugin(wp):
    before = wp.state()
    result = rollback(wp, "-e", "level=code", "-e", "wordpress_scenario=plugin",
                      "-e", "wordpress_scenario_plugin=rewind-contact")
    assert result.returncode == 0
    after = wp.state()
    assert only(after["tree"], PLUGIN) == only(wp.good["tree"], PLUGIN)
    assert only(before["tree"], PLUGIN) != only(wp.good["tree"], PLUGIN)
    assert without(after["tree"], PLUGIN) == without(before["tree"], PLUGIN)
    assert after["tables"] == before["tables"] and after["crontab"] == before["crontab"]
    assert http(wp)[0] == 200, "the fatal plugin is gone, the site answers"


def test_theme_scenario_restores_only_the_theme(wp):
    before = wp.state()
    assert rollback(wp, "-e", "level=code", "-e", "wordpress_scenario=theme").returncode == 0
    after = wp.state()
    assert only(after["tree"], "wp-content/themes") == only(wp.good["tree"], "wp-content/themes")
    assert only(before["tree"], THEME) != only(wp.good["tree"], THEME)
    assert without(after["tree"], "wp-content/themes") == without(before["tree"], "wp-content/themes")
    assert after["tables"] == before["tables"] and after["crontab"] == before["crontab"]


def test_database_scenario_restores_only_the_database(wp):
    before = wp.state()
    assert rollback(wp, "-e", "level=database", "-e", "wordpress_scenario=database").returncode == 0
    after = wp.state()
    assert after["tables"] == wp.good["tables"] and after["schema"] == wp.good["schema"]
    assert before["tables"] != wp.good["tables"]
    assert after["tree"] == before["tree"] and after["crontab"] == before["crontab"]


# --- level=full: the exact pre-deployment state, nothing lost, no secret leaked ---------------

def _sample_ps(wp, samples, stop):
    while not stop.is_set():
        samples.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
        samples.append(wp.sh("ps -eo args", check=False))
        time.sleep(0.1)


def test_full_rollback_restores_everything(wp):
    wp.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad")
    comment = "comment-after-r2-%d" % time.time()
    assert wp.play("playbooks/demo/wordpress_comment.yml", "-e", "comment_text=%s" % comment).returncode == 0
    wp.before_full = wp.state()
    log_size = int(wp.sh("stat -c %s /var/log/apache2/error.log"))

    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=_sample_ps, args=(wp, samples, stop))
    sampler.start()
    try:
        result = rollback(wp, "-e", "level=full", "-vv")
    finally:
        stop.set()
        sampler.join()
    assert result.returncode == 0
    after = wp.state()

    assert after["tables"] == wp.good["tables"], "CHECKSUM TABLE of every table equals its pre-deploy value"
    assert after["schema"] == wp.good["schema"]
    assert after["tree"] == wp.good["tree"], "the site tree's sha256 list equals"
    assert after["crontab"] == wp.good["crontab"]
    assert after["modes"] == wp.good["modes"], "owner and modes as configured"
    assert after["modes"]["wp-config.php"].endswith(":0640"), "wp-config.php is not world-readable"
    assert all(m.startswith("www-data:www-data:") and int(m[-1]) & 2 == 0 for m in after["modes"].values())
    code, body = http(wp)
    assert code == 200 and "<title>Rewind Demo" in body
    code, body = http(wp, "/wp-admin/")
    assert code in (200, 302) and ("user_login" in body or code == 302)
    new_log = wp.sh("tail -c +%d /var/log/apache2/error.log" % (log_size + 1))
    assert "PHP Fatal error" not in new_log

    snapshot = re.search(r"pre-rollback snapshot: (\S+)", result.stdout)
    assert snapshot, "the output says where the snapshot is"
    assert comment in wp.sh("zstd -dc %s/db.sql.zst" % snapshot.group(1)), "the comment is in the snapshot"

    assert samples and not any(PASSWORD in s for s in samples), "the DB password showed in ps"
    assert PASSWORD not in result.stdout
    assert PASSWORD not in open(wp.log).read()


def test_the_same_rollback_again_changes_nothing(wp):
    before = wp.state()
    result = rollback(wp, "-e", "level=full")
    assert result.returncode == 0
    assert recap(result.stdout, "wp1")["changed"] == 0
    assert "restored nothing" in result.stdout
    assert wp.state() == before


def test_undo_brings_back_the_post_deployment_state(wp):
    result = wp.play("playbooks/undo.yml")
    assert result.returncode == 0
    after = wp.state()
    assert after["tables"] == wp.before_full["tables"]
    assert after["schema"] == wp.before_full["schema"]
    assert after["tree"] == wp.before_full["tree"]
    assert after["crontab"] == wp.before_full["crontab"]


def test_a_corrupt_newest_backup_falls_back_only_when_the_policy_allows(wp):
    """With fallback allowed, an older valid backup within the RPO is used, and the output says so."""
    bad_file = wp.sh("python3 - %s /var/backups/rewind/crafted newest-corrupt <<'EOF'\n%s\nEOF" % (BACKUPS, CRAFT)).strip()
    result = rollback(wp, "-e", "level=full", "-e", "rewind_backup_root=/var/backups/rewind/crafted",
                      "-e", "rewind_allow_fallback=true", "-e", "rewind_rpo_min=1440")
    assert result.returncode == 0
    bad_id = bad_file.split("/crafted/", 1)[1]
    assert re.search(r"warning: .*%s, failed verification .*using the next older valid one instead, older-"
                     % re.escape(bad_id), result.stdout), "the output says it fell back, and from what"
    after = wp.state()
    assert after["tables"] == wp.good["tables"] and after["tree"] == wp.good["tree"]
