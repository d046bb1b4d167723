"""After `rollback.yml -e level=full` (converge) and a second, idle run (idempotence).

The expected state was captured on the host before the broken r2 was deployed (prepare.yml):
every check compares the live state with it, so each fails when anything differs.
"""

import json

import pytest

SITE = "/var/www/demo"
COMMENT = "written after r2 went live, must survive in the snapshot"


@pytest.fixture(scope="module")
def before(host):
    return json.loads(host.file("/root/rewind-expected/pre-deploy.json").content_string)


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


def test_owner_and_modes_are_as_configured(now):
    for path, entry in now["modes"].items():
        owner, group, mode = entry.split(":")
        assert (owner, group) == ("www-data", "www-data"), path
        if path == "wp-config.php":
            assert mode == "0640"
        else:
            assert mode in ("0644", "0755"), path


def test_homepage_answers_200_with_the_site_title(host):
    out = host.check_output("curl -s -w '\\n%{http_code}' http://localhost/")
    body, code = out.rsplit("\n", 1)
    assert code == "200" and "<title>Rewind Demo" in body


def test_wp_admin_serves_the_login_page(host):
    out = host.check_output("curl -s -L -w '\\n%{http_code}' http://localhost/wp-admin/")
    body, code = out.rsplit("\n", 1)
    assert code == "200" and 'name="log"' in body


def test_no_new_php_fatal_is_logged(host):
    size = int(host.check_output("stat -c %s /var/log/apache2/error.log"))
    host.check_output("curl -s -o /dev/null http://localhost/ && curl -s -o /dev/null -L http://localhost/wp-admin/")
    assert "PHP Fatal" not in host.check_output("tail -c +%s /var/log/apache2/error.log", str(size + 1))


def test_the_comment_written_after_the_deployment_is_in_the_snapshot(host):
    newest = host.check_output("ls -d /var/backups/rewind/demo/snapshots/*-pre-rollback | sort | head -1")
    assert COMMENT in host.check_output("zstd -dc %s/db.sql.zst", newest)
