"""Case (a), after `rollback.yml -e level=full` (converge) and a second, idle run (idempotence).

The expected state was captured on the host at r1, before r2 was deployed (prepare.yml):
r2's migration calls.0002_priority_tags (a Tag model, NOT NULL Call.priority, a many-to-many,
an index) is reversed, the call logged on r2 stays, the code is r1's again. Every check
compares the live state with the capture or asks the site, so each fails when anything differs.
"""

import json

import pytest

CAPTURE = "python3 /opt/callcentre-demo/capture_state.py"
CALL = "logged on r2, must survive the rollback"
# Signing in (verify does) rewrites auth_user.last_login and adds a session; reversing
# CreateModel(Tag) leaves its content type and permissions, as Django does.
CHANGED_BY_DESIGN = {"auth_user", "django_session", "auth_permission", "django_content_type", "calls_call"}


@pytest.fixture(scope="module")
def r1(host):
    return json.loads(host.file("/root/rewind-expected/r1.json").content_string)


@pytest.fixture(scope="module")
def now(host):
    return json.loads(host.check_output(CAPTURE))


def test_current_points_to_r1_again(host, now, dj):
    assert now["release"] == "r1"
    assert host.file("/srv/callcentre/current").linked_to == "/srv/callcentre/releases/r1"
    dj.code_is("r1")


def test_every_table_has_its_r1_definition(r1, now):
    assert now["schema"] == r1["schema"], "SHOW CREATE TABLE of every table"
    assert "calls_tag" not in now["schema"] and "calls_call_tags" not in now["schema"]


def test_the_migrations_of_r2_are_unapplied(r1, now):
    assert now["migrations"] == r1["migrations"]
    assert "calls.0002_priority_tags" not in now["migrations"]


def test_the_rows_of_r1_and_the_call_logged_on_r2_are_there(r1, now):
    calls = now["rows"]["calls_call"]
    assert calls[:len(r1["rows"]["calls_call"])] == r1["rows"]["calls_call"]
    assert [row[1] for row in calls[len(r1["rows"]["calls_call"]):]] == [CALL]
    assert now["rows"]["calls_customer"] == r1["rows"]["calls_customer"]
    assert now["users"] == r1["users"]


def test_the_other_tables_are_unchanged(r1, now):
    def unchanged(state):
        return {t: v for t, v in state["tables"].items() if t not in CHANGED_BY_DESIGN}
    assert unchanged(now) == unchanged(r1), "CHECKSUM TABLE"


def test_health_answers_from_r1(host):
    health = json.loads(host.check_output("curl -s http://localhost/health/"))
    assert health == {"status": "ok", "release": "r1", "database": "ok"}


def test_the_smoke_tests_of_r1_pass(host):
    out = host.run("cd /srv/callcentre/current && SMOKE_BASE_URL=http://localhost runuser -u callcentre -- "
                   "venv/bin/python manage.py test --tag=smoke")
    assert out.rc == 0, out.stderr
    assert "Ran 4 tests" in out.stderr


def test_gunicorn_and_nginx_run(host):
    assert host.service("gunicorn-callcentre").is_running
    assert host.service("nginx").is_running
    assert not host.file("/srv/callcentre/shared/maintenance.on").exists


def test_r2_is_flagged_bad_in_the_ledger(host):
    ledger = json.loads(host.file("/var/lib/rewind/callcentre/releases.json").content_string)
    assert {r["id"]: r["bad"] for r in ledger["releases"]} == {"r1": False, "r2": True}


def test_the_snapshot_holds_the_database_as_it_was_on_r2(host):
    newest = host.check_output("ls -d /var/backups/rewind/callcentre/snapshots/*-pre-rollback | sort | tail -1")
    dump = host.check_output("zstd -dc %s/db.sql.zst", newest)
    assert CALL in dump and "`priority` smallint" in dump
