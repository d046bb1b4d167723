"""Laravel rollback on two real hosts: an app host and a database host on a docker network.

The app host runs nginx, php8.2-fpm, Debian's php-laravel-framework (Laravel 8.83) with the
demo campaign system (playbooks/demo/laravel), redis, a systemd queue worker and a Node side
service under PM2; the database host runs MariaDB, reached over TCP. The inventory is
inventories/example/laravel.yml with the test's two containers as its hosts.

One stack for the module, driven through the states a real incident goes through: r1 set up
and backed up (prepare.yml) → the bad r2 deployed (a migration adding campaigns.campaign_type
and the table hybrid_campaign_steps, the endpoint POST /api/campaigns/hybrid, a new frontend
build, a changed .env) → dry run → level=frontend → r2 again → level=partial → r2 again, rows
written → level=full (sampled for the 503 page while it runs) → the same again (no change) → a row
re-inserted from the data recovery report → r3 (a migration dropping a column) → level=partial refused.
Every check compares the live state with a capture (playbooks/demo/laravel/files/capture_state.py:
CHECKSUM TABLE and SHOW CREATE TABLE per table, the migrations table, sha256 of the .env and of
the build, the compiled views, the workers' and PM2's processes), so each can fail.

This suite stands in for the molecule/laravel scenario of issue 6: the same two hosts and the same
sequence (dry run, a rollback at each level, the same rollback again changing nothing, checks of
the state), with the stack set up once for all levels instead of once more for molecule.
"""

import hashlib
import json
import os
import re
import shlex
import time

import pytest
import yaml

from conftest import ROOT, recap

PREFIX = os.environ.get("REWIND_IT_PREFIX", "rewind-it")
NETWORK = PREFIX + "-laravel"
PASSWORD = "campaigns-it-Secr3t-pw"
CAPTURE = "python3 /opt/rewind-demo/laravel/files/capture_state.py"
SNAPSHOTS = "/var/backups/rewind/campaigns/snapshots"
HYBRID = "2025_11_14_000001_add_hybrid_campaigns"
ORPHANS = ("SELECT COUNT(*) FROM campaign_logs cl LEFT JOIN campaigns c ON cl.campaign_id = c.id "
           "WHERE c.id IS NULL")
# campaigns' columns in r1, so its data can be compared whatever r2 added to it.
R1_CAMPAIGNS = "SELECT id, name, status, notes, created_at, updated_at FROM campaigns ORDER BY id"


def inventory(app, db):
    """inventories/example/laravel.yml, its two hosts replaced by the test's containers."""
    with open(os.path.join(ROOT, "inventories", "example", "laravel.yml")) as handle:
        inv = yaml.safe_load(handle)
    inv["all"]["vars"]["laravel_db_password"] = PASSWORD
    groups = inv["all"]["children"]
    groups["laravel"]["hosts"] = {app.hostname: {"ansible_host": app.name}}
    groups["laravel"]["vars"]["laravel_db_host"] = db.hostname
    groups["laravel_db"]["hosts"] = {db.hostname: {"ansible_host": db.name}}
    return yaml.safe_dump(inv, sort_keys=False)


@pytest.fixture(scope="module")
def app(host_factory):
    db = host_factory(PREFIX + "-lv-db1", "lvdb1", "laravel_db", network=NETWORK)
    app = host_factory(PREFIX + "-lv-app1", "lvapp1", "laravel", network=NETWORK)
    with open(app.inventory, "w") as handle:
        handle.write(inventory(app, db))
    app.capture = CAPTURE
    # One ansible-playbook run (two playbooks): the stack at r1, then its pre-deploy backup.
    assert app.play("playbooks/demo/laravel_site.yml", os.path.join(ROOT, "playbooks", "prepare.yml"),
                    "-e", "rewind_hosts=laravel").returncode == 0
    app.good, app.good_served = app.state(), served_build(app)
    deploy(app, "bad")
    app.bad, app.bad_served = app.state(), served_build(app)
    assert app.bad["current"] == "r2" and app.bad["env"] != app.good["env"]
    assert "hybrid_campaign_steps" in app.bad["tables"] and app.bad_served != app.good_served
    assert http(app, "/api/campaigns")[0] == 500, "r2 is bad: its campaign listing fails"
    return app


def deploy(app, release):
    assert app.play("playbooks/demo/laravel_deploy.yml", "-e", "release=" + release).returncode == 0


def rollback(app, level, *args):
    return app.play("playbooks/rollback.yml", "-e", "rewind_hosts=laravel", "-e", "level=" + level, *args)


def http(app, path, method="GET", data=None):
    body = "-H 'Content-Type: application/json' -d %s " % shlex.quote(json.dumps(data)) if data is not None else ""
    out = app.sh("curl -s -o /tmp/body -w '%%{http_code}' -X %s %shttp://localhost%s; echo; cat /tmp/body"
                 % (method, body, path))
    code, _, text = out.partition("\n")
    return int(code), text


def sql(app, query):
    return json.loads(app.sh("%s --sql %s" % (CAPTURE, json.dumps(query))))


def served_build(app):
    """sha256 of each asset the home page links, fetched over HTTP: what visitors get."""
    code, page = http(app, "/")
    assert code == 200
    assets = sorted(set(re.findall(r'(?:href|src)="(/build/[^"]+)"', page)))
    assert len(assets) == 2, page
    return {path: hashlib.sha256(app.sh("curl -sf http://localhost%s" % path).encode()).hexdigest()
            for path in assets}


def new_campaign(app, name, hybrid=False):
    """A campaign created through the API, once the queue worker has sent it: its id and its log's id."""
    code, body = http(app, "/api/campaigns/hybrid" if hybrid else "/api/campaigns", "POST", {"name": name})
    assert code == 201, body
    campaign = json.loads(body)["id"]
    for _ in range(60):
        logs = sql(app, "SELECT id FROM campaign_logs WHERE campaign_id = %d" % campaign)
        if logs:
            return campaign, int(logs[0][0])
        time.sleep(0.5)
    raise AssertionError("the queue worker never sent campaign %d" % campaign)


def running(before, after):
    """The workers and the PM2 app run, and were restarted."""
    worker_b, worker_a = before["workers"]["campaigns-queue@1"], after["workers"]["campaigns-queue@1"]
    pm2_b, pm2_a = before["pm2"]["notifier"], after["pm2"]["notifier"]
    assert worker_a["active"] == "active" and worker_a["pid"] != worker_b["pid"], (worker_b, worker_a)
    assert pm2_a["status"] == "online" and pm2_a["pid"] != pm2_b["pid"], (pm2_b, pm2_a)


# --- dry run ------------------------------------------------------------------------------------

def test_check_prints_the_plan_and_changes_nothing(app):
    before = app.state()
    result = rollback(app, "full", "--check")
    assert result.returncode == 0
    assert "dry run, nothing will change" in result.stdout
    assert "restore:     db, config, code" in result.stdout
    assert "undone by the restore: " + HYBRID in result.stdout
    assert "removes hybrid_campaign_steps" in result.stdout
    assert app.state() == before


# --- frontend (code): the previous build is served, nothing else changes -----------------------

def test_frontend_serves_the_previous_build_and_touches_nothing_else(app):
    before = app.state()
    result = rollback(app, "frontend")
    assert result.returncode == 0
    after = app.state()
    assert served_build(app) == app.good_served, "visitors get r1's build again"
    assert after["build"] == app.good["build"] and after["current"] == "r1"
    for key in ("tables", "schema", "migrations", "env", "pm2", "maintenance"):
        assert after[key] == before[key], key
    assert after["workers"]["campaigns-queue@1"]["release"] == "r1", "the worker runs r1's code"
    assert http(app, "/")[0] == 200


# --- partial (database): the new migration is reversed, nothing else --------------------------

def test_partial_reverses_the_new_migration_only(app):
    deploy(app, "bad")
    hybrid, _ = new_campaign(app, "Hybrid after r2", hybrid=True)
    before = app.state()
    campaigns_before = sql(app, R1_CAMPAIGNS)

    result = rollback(app, "partial")
    assert result.returncode == 0
    after = app.state()

    assert "artisan migrate:rollback --step=1 --force" in result.stdout
    assert after["migrations"] == app.good["migrations"] and before["migrations"][-1] == [HYBRID, 2]
    status = app.sh("runuser -u www-data -- php /srv/campaigns/current/artisan migrate:status")
    assert re.search(r"\|\s+No\s+\|\s+%s\s+\|" % HYBRID, status), status
    assert "hybrid_campaign_steps" not in after["tables"]
    assert after["schema"]["campaigns"] == app.good["schema"]["campaigns"], "campaign_type is gone"
    for table in ("campaign_logs", "failed_jobs"):
        assert after["tables"][table] == before["tables"][table], table
    assert sql(app, R1_CAMPAIGNS) == campaigns_before, "the campaigns' other columns are untouched"
    assert after["current"] == "r2" and after["env"] == before["env"], "code and .env stay"

    snapshot = re.search(r"pre-rollback snapshot: (\S+)", result.stdout).group(1)
    assert snapshot.startswith(SNAPSHOTS + "/")
    manifest = json.loads(app.sh("cat %s/manifest.json" % snapshot))
    assert [item["kind"] for item in manifest["files"]] == ["db"]
    dump_meta = manifest["files"][0]
    digest, size = app.sh("f=%s/%s; sha256sum \"$f\" | cut -d' ' -f1; stat -c %%s \"$f\""
                          % (snapshot, dump_meta["path"])).split()
    assert (digest, int(size)) == (dump_meta["sha256"], dump_meta["size"]), "the dump is the one its manifest names"
    assert re.search(r"TASK \[rewind\.rollback\.laravel : Verify the snapshot before anything is changed\] \*+\nok:",
                     result.stdout), "the emergency dump was verified before the migration was reversed"
    dump = app.sh("zstd -dc %s/db.sql.zst" % snapshot)
    assert "CREATE TABLE `hybrid_campaign_steps`" in dump and "Hybrid after r2" in dump
    assert dump.rstrip().splitlines()[-1].startswith("-- Dump completed")
    running(before, after)
    assert after["workers"]["campaigns-queue@1"]["release"] == "r2"
    assert hybrid in [int(row[0]) for row in sql(app, "SELECT id FROM campaigns")]


# --- full: the pre-deploy state, the 503 page meanwhile, the rows written since reported ------

# Each sample is "<status>:<Retry-After header>": artisan down --retry=60 answers "503:60", so a
# 503 of anything else (nginx, php-fpm) does not count as the maintenance page.
SAMPLER = ("rm -f /tmp/samples /tmp/stop-sampling; while [ ! -e /tmp/stop-sampling ]; do "
           "curl -s -o /dev/null -m 5 -w '%{http_code}:%header{retry-after}\\n' http://localhost/ >> /tmp/samples; "
           "sleep 0.1; done")
MAINTENANCE = "503:60"


def test_full_restores_the_pre_deploy_state(app):
    deploy(app, "bad")
    app.written, app.written_log = new_campaign(app, "Written after r2")
    app.sh("redis-cli -n 1 SET campaigns_database_campaigns_cache:rewind-it stale >/dev/null")
    before = app.state()

    app.sh("nohup bash -c %s >/dev/null 2>&1 &" % json.dumps(SAMPLER))
    try:
        result = rollback(app, "full")
    finally:
        app.sh("sleep 1; touch /tmp/stop-sampling; sleep 0.3")
    samples = app.sh("cat /tmp/samples").split()
    assert result.returncode == 0
    after = app.state()

    assert after["tables"] == app.good["tables"], "CHECKSUM TABLE of every table equals the pre-deploy backup"
    assert after["schema"] == app.good["schema"] and after["migrations"] == app.good["migrations"]
    assert after["env"] == app.good["env"], ".env equals the backup"
    assert after["current"] == "r1" and after["build"] == app.good["build"]
    assert "config.php" not in after["caches"] and "routes-v7.php" not in after["caches"]
    assert "config.php" in before["caches"], "r2 ran on a cached config"
    assert app.sh("redis-cli -n 1 EXISTS campaigns_database_campaigns_cache:rewind-it").strip() == "0"
    assert http(app, "/")[0] == 200 and http(app, "/login")[0] == 200
    assert http(app, "/api/campaigns/hybrid", "POST", {"name": "x"})[0] == 404
    code, body = http(app, "/api/campaigns")
    names = [campaign["name"] for campaign in json.loads(body)] if code == 200 else body
    assert code == 200 and {"Spring sale", "Newsletter January", "Loyalty reminder"} <= set(names), names
    assert "Written after r2" not in names, "the listing is the restored database's"
    assert any("/releases/r2/" in path for path in before["views"]), "r2 rendered its views"
    assert not any("/releases/r2/" in path for path in after["views"]), "view:clear took r2's compiled views"
    assert sql(app, ORPHANS) == [["0"]]
    running(before, after)
    assert after["workers"]["campaigns-queue@1"]["release"] == "r1"

    # During the rollback the site answered 503 (artisan down), and 200 before and after it.
    assert MAINTENANCE in samples and samples[-1] == "200:", samples
    first, last = samples.index(MAINTENANCE), len(samples) - 1 - samples[::-1].index(MAINTENANCE)
    assert set(samples[first:last + 1]) == {MAINTENANCE}, "nothing but the maintenance page while it ran"
    assert set(samples[last + 1:]) == {"200:"} and set(samples[:first]) <= {"200:"}

    report = re.search(r"(/var/lib/rewind/campaigns/recovery/\S+\.json):", result.stdout).group(1)
    app.recovery = json.loads(app.sh("cat " + report))
    assert app.written in app.recovery["tables"]["campaigns"]["only_in_snapshot"]
    assert app.written_log in app.recovery["tables"]["campaign_logs"]["only_in_snapshot"]
    assert app.recovery["tables"]["campaigns"]["only_in_restored"] == []
    assert PASSWORD not in result.stdout and PASSWORD not in open(app.log).read()


def test_the_same_full_rollback_again_changes_nothing(app):
    before = app.state()
    result = rollback(app, "full")
    assert result.returncode == 0
    assert recap(result.stdout, "lvapp1")["changed"] == 0
    assert "restored nothing" in result.stdout
    assert app.state() == before
    # The worker takes jobs again, with r1's code (the data written here is after the rollback).
    _, log = new_campaign(app, "Sent by r1's worker")
    assert sql(app, "SELECT detail FROM campaign_logs WHERE id = %d" % log)[0][0].endswith("sent by r1 v1.4.0")


def test_reinsert_brings_back_a_chosen_row(app):
    wanted = sql(app, "SELECT id, name, status, created_at FROM campaigns__rw_recovery.campaigns WHERE id = %d"
                 % app.written)
    assert wanted and not sql(app, "SELECT id FROM campaigns WHERE id = %d" % app.written)
    others = sql(app, "SELECT id, name, status, created_at FROM campaigns WHERE id <> %d ORDER BY id" % app.written)
    args = ("-e", "laravel_reinsert_table=campaigns", "-e", json.dumps({"laravel_reinsert_ids": [app.written]}))

    assert app.play("playbooks/demo/laravel_reinsert.yml", *args).returncode == 0
    assert sql(app, "SELECT id, name, status, created_at FROM campaigns WHERE id = %d" % app.written) == wanted
    assert sql(app, "SELECT id, name, status, created_at FROM campaigns WHERE id <> %d ORDER BY id"
               % app.written) == others

    again = app.play("playbooks/demo/laravel_reinsert.yml", *args)
    assert again.returncode != 0 and "ids already in the database: %d" % app.written in again.stdout


# --- a destructive migration: partial stops before changing anything --------------------------

def test_partial_refuses_a_destructive_migration_and_changes_nothing(app):
    deploy(app, "destructive")
    before = app.state()
    snapshots = app.sh("ls %s" % SNAPSHOTS)
    assert "notes" not in app.sh("%s --sql 'SHOW COLUMNS FROM campaigns'" % CAPTURE)

    result = rollback(app, "partial")
    assert result.returncode != 0
    assert "REWIND-E-INPUT: partial rollback (level database) of lvapp1 refused, nothing was changed" in result.stdout
    assert "drops column campaigns.notes" in result.stdout
    assert "A full rollback (-e level=full) restores the pre-deploy backup" in result.stdout
    assert "laravel_allow_destructive=true" in result.stdout
    assert "TASK [rewind.rollback.laravel : Put the site in maintenance mode" not in result.stdout
    assert app.state() == before, "nothing changed: schema, data, code, .env, workers, PM2"
    assert app.sh("ls %s" % SNAPSHOTS) == snapshots, "not even a snapshot was taken"
    assert http(app, "/")[0] == 200
