"""After `rollback.yml -e level=full` (converge) and a second, idle run (idempotence).

The database host runs the real MongoDB Database Tools (mongodump/mongorestore 100.3.1, the Windows
build under wine64) against SecantusDB, a MongoDB wire-compatible server on WiredTiger, not mongod.
The expected state was captured before the bad r2 was deployed (prepare.yml): each check compares the
live state with it, read with pymongo, independently of the rewind modules, so each can fail.
"""

import json
import os

import pytest
import testinfra

testinfra_hosts = ["rewind-mol-chatbot-app"]

APP_ROOT = "/opt/chatbot"
STATE = ("MONGO_URI='mongodb://rewind:demo-Rewind-pw-1@127.0.0.1:27017/?authSource=admin' "
         "/opt/mongo-test/bin/python /opt/rewind-demo/chatbot/bin/chatbot_state.py chatbot")
MESSAGE = "written after r2 went live, must survive in the snapshot"
PM2 = "sudo -u chatbot PM2_HOME=/home/chatbot/.pm2 pm2"


@pytest.fixture(scope="module")
def db():
    return testinfra.get_host("ansible://rewind-mol-chatbot-db", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def before_db(db):
    return json.loads(db.file("/root/rewind-expected/pre-deploy.json").content_string)["collections"]


@pytest.fixture(scope="module")
def now_db(db):
    return json.loads(db.check_output(STATE))["collections"]


@pytest.fixture(scope="module")
def before_app(host):
    return json.loads(host.file("/root/rewind-expected/pre-deploy.json").content_string)


def test_the_bad_release_had_changed_what_the_rollback_must_restore(host, db, before_db, before_app):
    """Without this, a deployment of r2 that changed nothing would let every check below pass."""
    bad_db = json.loads(db.file("/root/rewind-expected/post-deploy.json").content_string)["collections"]
    bad_app = json.loads(host.file("/root/rewind-expected/post-deploy.json").content_string)
    assert "conversations" in bad_db
    assert bad_db["messages"]["sha256"] != before_db["messages"]["sha256"]
    assert [i["name"] for i in bad_db["messages"]["indexes"]] == ["_id_", "conversation_at", "queue"]
    assert bad_app["current"] == "releases/r2"
    assert before_app["tree"] != bad_app["tree"] and before_app["env"] != bad_app["env"]


def test_every_collection_equals_the_dump_document_for_document(before_db, now_db):
    assert sorted(now_db) == sorted(before_db) == ["messages", "migrations", "users"]
    for name in before_db:
        assert now_db[name]["count"] == before_db[name]["count"], name
        assert now_db[name]["sha256"] == before_db[name]["sha256"], name


def test_the_indexes_equal_the_dump(before_db, now_db):
    for name in before_db:
        assert now_db[name]["indexes"] == before_db[name]["indexes"], name
    assert [i["name"] for i in now_db["messages"]["indexes"]] == ["_id_", "queue", "user_at"]


def test_the_collection_the_bad_release_added_is_gone(now_db):
    assert "conversations" not in now_db


def test_the_old_release_is_current_and_its_files_are_unchanged(host, before_app):
    assert host.file(APP_ROOT + "/current").linked_to == APP_ROOT + "/releases/r1"
    assert before_app["current"] == "releases/r1"
    tree = host.check_output("cd %s/current/ && find . -path ./node_modules -prune -o -path ./.git -prune -o -type f "
                             "-print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1", APP_ROOT)
    assert tree == before_app["tree"]


def test_the_shared_settings_equal_the_backup(host, before_app):
    assert host.check_output("sha256sum %s/shared/.env | cut -d' ' -f1", APP_ROOT) == before_app["env"]
    env = host.file(APP_ROOT + "/shared/.env")
    assert (env.user, env.group, env.mode) == ("chatbot", "chatbot", 0o640)


def test_pm2_shows_the_old_release_online_from_its_folder(host):
    processes = json.loads(host.check_output(PM2 + " jlist"))
    assert sorted(p["name"] for p in processes) == ["chatbot-api", "chatbot-auth", "chatbot-messaging"]
    for process in processes:
        assert process["pm2_env"]["status"] == "online", process["name"]
        assert host.check_output("readlink -f /proc/%s/cwd" % process["pid"]) == APP_ROOT + "/releases/r1"


def test_pm2_runs_under_systemd_and_its_saved_list_is_the_old_release(host):
    assert host.service("pm2-chatbot").is_enabled and host.service("pm2-chatbot").is_running
    saved = json.loads(host.file("/home/chatbot/.pm2/dump.pm2").content_string)
    assert sorted(p["name"] for p in saved) == ["chatbot-api", "chatbot-auth", "chatbot-messaging"]
    assert {p["pm_exec_path"] for p in saved} == {APP_ROOT + "/current/src/%s.js" % n for n in ("api", "auth", "messaging")}


def test_the_old_release_serves_its_build_and_api(host):
    assert '<meta name="release" content="1.4.0">' in host.check_output("curl -s http://127.0.0.1/")
    for path in ("/api/health", "/auth/health"):
        health = json.loads(host.check_output("curl -s http://127.0.0.1%s", path))
        assert (health["status"], health["version"]) == ("ok", "1.4.0"), path
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/api/messages") == "401"


def test_the_maintenance_page_was_served_during_the_rollback(host):
    polls = [line.split() for line in host.file("/var/log/rewind-poll.log").content_string.splitlines()]
    maintenance = [p for p in polls if p[1] == "503" and p[2] != "0"]
    assert maintenance, "the front door never answered with the maintenance page"
    after = [p for p in polls if float(p[0]) > float(maintenance[-1][0])]
    assert after and all(p[1] == "200" for p in after[1:]), "the site did not come back after maintenance"
    assert not host.file("/etc/nginx/rewind-maintenance").exists


def test_the_ledgers_flag_the_bad_release(host, db):
    for side in (host, db):
        ledger = json.loads(side.file("/var/lib/rewind/chatbot/releases.json").content_string)
        assert {r["id"]: r["bad"] for r in ledger["releases"]} == {"r1": False, "r2": True}
        assert ledger["events"][-1]["action"] == "rollback" and ledger["events"][-1]["release"] == "r1"


def test_the_message_written_after_the_deployment_is_in_the_database_snapshot(db):
    snapshot = db.check_output("ls -d /var/backups/rewind/chatbot/snapshots/*-pre-rollback | sort | head -1")
    assert db.check_output("zcat %s/db.archive.gz | grep -a -c -F %s", snapshot, MESSAGE) == "1"
    manifest = json.loads(db.file(snapshot + "/manifest.json").content_string)
    assert manifest["label"] == "pre-rollback" and manifest["release"] == "r2"
    assert "conversations" in manifest["files"][0]["collections"]
