"""WordPress rollback from a physical backup on a real host: MariaDB 10.11 and mariadb-backup.

One container, its own: r1 set up and backed up with a dump and a prepared physical copy
(prepare.yml, wordpress_db_backup_method=both) → the broken r2 deployed and a comment written
after it → the plan picks the physical copy only when it may and is worth it → level=full
restores the server from it (the live data directory moved aside is the snapshot) → the same
rollback again changes nothing → undo swaps the moved data directory back.
Each check compares captures of playbooks/demo/files/capture_state.py (CHECKSUM TABLE per table,
sha256 per file, the crontab), so each can fail.
"""

import json
import re
import time

import pytest

from conftest import recap

SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
BACKUPS = "/var/backups/rewind/demo"
DATADIR = "/var/lib/mysql"
# The demo database is a few MiB, under the role's wordpress_db_physical_min_mb, where auto
# loads the dump; these tests take the physical path on purpose.
PHYSICAL = ("-e", "wordpress_db_physical_min_mb=0")


@pytest.fixture(scope="module")
def wp(host_factory):
    host = host_factory("rewind-it-wpp1", "wpp1", "wordpress")
    host.capture = CAPTURE
    # The image's /var/lib/mysql sits in a lower overlayfs layer, which the kernel cannot rename
    # (EXDEV); a real host's can be. Copying it up once makes it an ordinary directory.
    host.sh("systemctl stop mariadb && cp -a %(d)s %(d)s.up && rm -rf %(d)s && mv %(d)s.up %(d)s" % {"d": DATADIR})
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/demo/wordpress_deploy.yml", ("-e", "release=good")),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert host.play(playbook, *args).returncode == 0, playbook
    host.sh("systemctl stop cron")  # wp-cron writes the database on its own schedule
    host.good = host.state()
    assert host.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad").returncode == 0
    host.comment = "comment-after-r2-%d" % time.time()
    assert host.play("playbooks/demo/wordpress_comment.yml", "-e", "comment_text=%s" % host.comment).returncode == 0
    host.bad = host.state()
    return host


def durable(state):
    """The state without what a page view may write on its own: WordPress caches some output in
    transients (and reschedules its cron) in wp_options, so r2's pages, fetched by verify after an
    undo, can change that table; its other rows are compared one by one."""
    options = {k: v for k, v in state["options"].items()
               if not k.startswith(("_transient_", "_site_transient_")) and k != "cron"}
    tables = {k: v for k, v in state["tables"].items() if k != "wp_options"}
    return dict(state, tables=tables, options=options)


def manifest(wp, folder):
    return json.loads(wp.sh("cat %s/manifest.json" % folder))


def pre_deploy_set(wp):
    return wp.sh("ls -d %s/*-pre-deploy" % BACKUPS).split()[-1]


def test_prepare_takes_a_prepared_physical_copy_next_to_the_dump(wp):
    items = {item["format"]: item for item in manifest(wp, pre_deploy_set(wp))["files"] if item["kind"] == "db"}
    assert set(items) == {"mysql-logical", "mysql-physical"}
    physical = items["mysql-physical"]
    assert physical["prepared"] and physical["databases"] == ["wordpress"]
    assert physical["server_version"].startswith("10.11.")
    assert physical["size"] > 0 and len(physical["sha256"]) == 64
    assert physical["tables"] == items["mysql-logical"]["tables"] == wp.good["tables"]
    checkpoints = wp.sh("cat %s/%s/xtrabackup_checkpoints" % (pre_deploy_set(wp), physical["path"]))
    assert "backup_type = log-applied" in checkpoints, "prepared at backup time, so a restore needs no prepare"


def test_the_plan_loads_a_small_database_logically(wp):
    """Under wordpress_db_physical_min_mb a dump loads as fast, with the server up: auto loads it, quietly."""
    auto = wp.play("playbooks/rollback.yml", "-e", "level=full", "--check")
    assert auto.returncode == 0
    assert re.search(r"database: logical, loading the dump \(database wordpress is only \d+ MiB", auto.stdout)
    assert "physical backup cannot be used" not in auto.stdout, "not worth a restart is no warning"
    assert wp.state() == wp.bad


def test_a_physical_copy_from_another_server_version_is_refused(wp):
    """The manifest says 10.6: refused with both versions named; auto falls back to the dump, saying why."""
    wp.sh("rm -rf /var/backups/rewind/crafted && cp -a %s /var/backups/rewind/crafted" % BACKUPS)
    crafted = pre_deploy_set(wp).replace(BACKUPS, "/var/backups/rewind/crafted")
    wp.sh("""python3 - <<'EOF'
import json
path = "%s/manifest.json"
man = json.load(open(path))
for item in man["files"]:
    if item["format"] == "mysql-physical":
        item["server_version"] = "10.6.18-MariaDB-0+deb11u1"
json.dump(man, open(path, "w"))
EOF""" % crafted)
    args = ("-e", "level=full", "--check", "-e", "rewind_backup_root=/var/backups/rewind/crafted") + PHYSICAL
    refused = wp.play("playbooks/rollback.yml", *args, "-e", "wordpress_db_restore_method=physical")
    assert refused.returncode != 0
    assert re.search(r"REWIND-E-BACKUP: cannot restore wordpress physically: .*MariaDB 10\.6\.18 and this server "
                     r"is MariaDB 10\.11\.\d+", refused.stdout)
    fallback = wp.play("playbooks/rollback.yml", *args)
    assert fallback.returncode == 0
    assert re.search(r"\[WARNING\]: the physical backup cannot be used here: .*10\.6\.18", fallback.stdout)
    assert "database: logical, loading the dump" in fallback.stdout
    assert wp.state() == wp.bad


def test_full_rollback_restores_the_server_from_the_physical_copy(wp):
    wp.before_full = wp.state()
    result = wp.play("playbooks/rollback.yml", "-e", "level=full", *PHYSICAL)
    assert result.returncode == 0
    assert re.search(r"database: physical, from %s/\S+-pre-deploy/db\.physical" % BACKUPS, result.stdout)
    assert "services: stop apache2 mariadb, restore" in result.stdout
    assert re.search(r"restored: database server mariadb \(physical copy-back, \d+ tables of wordpress proven by "
                     r"CHECKSUM TABLE", result.stdout)
    after = wp.state()
    assert after["tables"] == wp.good["tables"], "CHECKSUM TABLE of every table equals its pre-deploy value"
    assert after["schema"] == wp.good["schema"]
    assert after["tree"] == wp.good["tree"] and after["crontab"] == wp.good["crontab"]
    assert after["modes"] == wp.good["modes"]

    snapshot = re.search(r"pre-rollback snapshot: (\S+)", result.stdout).group(1)
    moved = [item for item in manifest(wp, snapshot)["files"] if item["kind"] == "db"]
    assert len(moved) == 1 and moved[0]["format"] == "dir" and moved[0]["datadir"] == DATADIR
    assert moved[0]["moved_by"] == "mysql_physical_restore" and moved[0]["server_version"].startswith("10.11.")
    wp.moved = moved[0]["path"]
    assert re.match(r"^%s\.rewind-\S+-pre-rollback$" % DATADIR, wp.moved)
    assert wp.sh("test -d %s/wordpress && echo yes" % wp.moved).strip() == "yes", "the old data directory is kept"
    assert wp.sh("systemctl is-active mariadb apache2").split() == ["active", "active"]


def test_the_same_rollback_again_changes_nothing(wp):
    before = wp.state()
    result = wp.play("playbooks/rollback.yml", "-e", "level=full", *PHYSICAL)
    assert result.returncode == 0
    assert recap(result.stdout, "wpp1")["changed"] == 0
    assert "restored nothing" in result.stdout
    assert wp.state() == before


def test_undo_swaps_the_moved_data_directory_back(wp):
    result = wp.play("playbooks/undo.yml")
    assert result.returncode == 0
    assert "(physical rename, the snapshot data directory put back" in result.stdout, "renamed back, nothing copied"
    after, before = durable(wp.state()), durable(wp.before_full)
    assert after["tables"] == before["tables"], "the comment written after r2 is back"
    assert after["options"] == before["options"]
    assert after["schema"] == before["schema"]
    assert after["tree"] == before["tree"] and after["crontab"] == before["crontab"]
    assert wp.sh("test -e %s && echo kept || echo gone" % wp.moved).strip() == "gone", "it went back into place"
    comment = wp.sh("mysql -N -e \"SELECT COUNT(*) FROM wordpress.wp_comments WHERE comment_content='%s'\""
                    % wp.comment).strip()
    assert comment == "1"
