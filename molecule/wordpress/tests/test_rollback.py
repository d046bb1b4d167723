"""Run twice: after `rollback.yml -e level=full` (converge) and a second, idle run (idempotence),
then after `undo.yml` (side_effect, which leaves /root/rewind-expected/undone).

The expected states were captured on the host by prepare.yml: before the broken r2 was deployed
(what the rollback must bring back) and after r2 and a comment written on it (what the undo must
bring back). Every check compares the live state with one of them, so each fails when anything
differs.
"""

import json

import pytest

SITE = "/var/www/demo"
COMMENT = "written after r2 went live, must survive in the snapshot"
DATADIR = "/var/lib/mysql"


@pytest.fixture(scope="module")
def undone(host):
    return host.file("/root/rewind-expected/undone").exists


@pytest.fixture(scope="module")
def before(host, undone):
    """The state to compare with: before r2 after the rollback, r2's own after the undo."""
    name = "after-r2" if undone else "pre-deploy"
    return json.loads(host.file("/root/rewind-expected/%s.json" % name).content_string)


@pytest.fixture
def rolled_back(undone):
    if undone:
        pytest.skip("the undo brought back the broken r2 on purpose; checked after the rollback")


@pytest.fixture(scope="module")
def now(host):
    return json.loads(host.check_output("python3 /opt/rewind-demo/bin/capture_state.py --site-root %s", SITE))


def test_every_table_checksum_equals_its_pre_deploy_value(before, now):
    assert now["tables"] == before["tables"]
    assert now["schema"] == before["schema"]


def test_the_site_tree_equals_file_by_file(before, now):
    assert now["tree"] == before["tree"]


def test_the_crontab_equals(before, now):
    assert now["crontab"] == before["crontab"]


def test_owner_and_modes_equal_the_capture(before, now):
    assert now["modes"] == before["modes"]


def test_owner_and_modes_are_as_configured(now, rolled_back):
    for path, entry in now["modes"].items():
        owner, group, mode = entry.split(":")
        assert (owner, group) == ("www-data", "www-data"), path
        if path == "wp-config.php":
            assert mode == "0640"
        else:
            assert mode in ("0644", "0755"), path


def test_homepage_answers_200_with_the_site_title(host, rolled_back):
    out = host.check_output("curl -s -w '\\n%{http_code}' http://localhost/")
    body, code = out.rsplit("\n", 1)
    assert code == "200" and "<title>Rewind Demo" in body


def test_wp_admin_serves_the_login_page(host, rolled_back):
    out = host.check_output("curl -s -L -w '\\n%{http_code}' http://localhost/wp-admin/")
    body, code = out.rsplit("\n", 1)
    assert code == "200" and 'name="log"' in body


def test_no_new_php_fatal_is_logged(host, rolled_back):
    size = int(host.check_output("stat -c %s /var/log/apache2/error.log"))
    host.check_output("curl -s -o /dev/null http://localhost/ && curl -s -o /dev/null -L http://localhost/wp-admin/")
    assert "PHP Fatal" not in host.check_output("tail -c +%s /var/log/apache2/error.log", str(size + 1))


def snapshot_manifest(host):
    """The first pre-rollback snapshot: the converge's (the undo takes one of its own too)."""
    newest = host.check_output("ls -d /var/backups/rewind/demo/snapshots/*-pre-rollback | sort | head -1")
    return json.loads(host.file(newest + "/manifest.json").content_string)


def test_the_database_was_restored_physically_and_its_old_data_directory_kept(host, rolled_back):
    moved = [item for item in snapshot_manifest(host)["files"] if item["kind"] == "db"]
    assert len(moved) == 1 and moved[0]["format"] == "dir" and moved[0]["datadir"] == DATADIR
    assert moved[0]["moved_by"] == "mysql_physical_restore"
    assert host.file(moved[0]["path"] + "/wordpress").is_directory, "the snapshot is the old data directory"


def test_the_undo_put_the_moved_data_directory_back_with_the_comment(host, undone):
    if not undone:
        pytest.skip("checked after the undo")
    moved = [item for item in snapshot_manifest(host)["files"] if item["kind"] == "db"][0]["path"]
    assert not host.file(moved).exists, "renamed back into place, not copied"
    count = host.check_output("mysql -N -e \"SELECT COUNT(*) FROM wordpress.wp_comments WHERE comment_content=%s\"",
                              COMMENT)
    assert count.strip() == "1"
