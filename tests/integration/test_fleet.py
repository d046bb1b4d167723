"""Fleet safety on three real WordPress hosts rolled back by one run of playbooks/rollback.yml.

  - One host cannot be rolled back (its backup root emptied, or its only backup of another release):
    the preflight stops the run before any host changes anything, and names that host's problem.
  - One host fails at restart (a broken Apache configuration): it is the first wave (rewind_canary: 1,
    the first host), so the other hosts stop before they switch anything; the fleet report gives every
    host's state, and every lock is released.
  - The cause fixed, the same rollback run again: the failed host continues its run (its journal, its
    one snapshot) and the others roll back.

Every check compares the hosts' real state (playbooks/demo/files/capture_state.py) with captures taken
before, so each can fail. REWIND_IT_PREFIX names the containers (default rewind-it).
"""

import json
import os
import re
import shlex
import subprocess

import pytest

from conftest import ROOT

SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
BACKUPS = "/var/backups/rewind/demo"
STATE_DIR = "/var/lib/rewind/demo"
PREFIX = os.environ.get("REWIND_IT_PREFIX", "rewind-it")
NAMES = ("wp1", "wp2", "wp3")
APPLY_STARTED = "TASK [rewind.rollback.wordpress : Put the site in maintenance mode]"
BROKEN_APACHE = "/etc/apache2/conf-enabled/zz-rewind-test-broken.conf"


class Fleet:
    """The three hosts in one inventory (inventory order wp1, wp2, wp3: wp1 is the first wave)."""

    def __init__(self, hosts, workdir):
        self.hosts = dict(zip(NAMES, hosts))
        self.inventory = os.path.join(workdir, "fleet.yml")
        with open(self.inventory, "w") as handle:
            handle.write("all:\n  children:\n    wordpress:\n      hosts:\n")
            for name, host in self.hosts.items():
                handle.write("        %s:\n          ansible_host: %s\n" % (name, host.name))
        os.symlink(os.path.join(ROOT, "inventories", "demo", "group_vars"), os.path.join(workdir, "group_vars"))
        self.log = os.path.join(workdir, "ansible.log")

    def play(self, playbook, *args):
        argv = ["ansible-playbook", "-i", self.inventory, os.path.join(ROOT, playbook)] + list(args)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOG_PATH=self.log,
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print("$ %s\n%s" % (" ".join(shlex.quote(a) for a in argv[3:]), proc.stdout[-8000:]))
        return proc

    def states(self):
        return {name: host.state() for name, host in self.hosts.items()}

    def leftovers(self, name):
        """What a run leaves on a host: lock, journals, snapshot sets, moved-aside trees."""
        return self.hosts[name].sh("ls -d %s/lock.json %s/runs/* %s/snapshots/*/ %s.rewind-* 2>/dev/null || true"
                                   % (STATE_DIR, STATE_DIR, BACKUPS, SITE)).split()

    def journals(self, name):
        """The run journals on a host."""
        text = self.hosts[name].sh(
            "for f in %s/runs/*.json; do [ -e \"$f\" ] && python3 -c 'import json, sys; "
            "print(json.dumps(json.load(open(sys.argv[1]))))' \"$f\"; done; true" % STATE_DIR)
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def report(output):
    """{host: its line of the fleet report}."""
    block = output[output.rindex("rewind fleet report"):]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*- '\s+(wp\d): (.*?)'?$", block, re.M)}


@pytest.fixture(scope="module")
def fleet(host_factory, tmp_path_factory):
    hosts = [host_factory("%s-fleet-%s" % (PREFIX, name), name, "wordpress") for name in NAMES]
    for host in hosts:
        host.capture = CAPTURE
    fleet = Fleet(hosts, str(tmp_path_factory.mktemp("fleet")))
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert fleet.play(playbook, *args).returncode == 0, playbook
    for host in hosts:
        host.sh("systemctl stop cron")  # wp-cron.php every 5 minutes may write; the crontab stays compared
    fleet.good = fleet.states()
    assert fleet.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad").returncode == 0
    fleet.bad = fleet.states()
    return fleet


def _assert_nothing_changed(fleet, before):
    assert fleet.states() == before, "a host changed"
    for name, host in fleet.hosts.items():
        assert fleet.leftovers(name) == [], "%s keeps %s" % (name, fleet.leftovers(name))
        assert host.sh("systemctl is-active apache2 mariadb").split() == ["active", "active"]


def test_a_host_without_its_backup_stops_the_fleet_before_any_change(fleet):
    wp3 = fleet.hosts["wp3"]
    wp3.sh("mkdir -p /root/backups-away && mv %s/* /root/backups-away/" % BACKUPS)
    try:
        result = fleet.play("playbooks/rollback.yml", "-e", "level=full")
    finally:
        wp3.sh("mv /root/backups-away/* %s/" % BACKUPS)
    assert result.returncode != 0
    assert re.search(r"REWIND-E-BACKUP: fleet preflight: 1 problem\(s\) among 3 host\(s\).*wp3: REWIND-E-BACKUP", result.stdout)
    assert APPLY_STARTED not in result.stdout, "a host started its rollback"
    _assert_nothing_changed(fleet, fleet.bad)
    lines = report(result.stdout)
    assert lines["wp1"] == lines["wp2"] == "stopped by the fleet: nothing changed"
    assert lines["wp3"].startswith("failed at plan: REWIND-E-BACKUP")


def test_hosts_going_back_to_different_releases_stop_the_fleet(fleet):
    """wp3's only backup says it is of another release: a mixed fleet is refused, nothing changes."""
    wp3 = fleet.hosts["wp3"]
    manifest = wp3.sh("ls %s/*/manifest.json" % BACKUPS).split()[0]
    wp3.sh("cp -p {0} /root/manifest.json && python3 -c \"import json,sys; m=json.load(open(sys.argv[1])); "
           "m['release']='r0'; json.dump(m, open(sys.argv[1], 'w'))\" {0}".format(manifest))
    try:
        result = fleet.play("playbooks/rollback.yml", "-e", "level=full")
    finally:
        wp3.sh("cp -p /root/manifest.json %s" % manifest)
    assert result.returncode != 0
    assert "would go back to different releases (r1 on wp1, wp2; r0 on wp3)" in result.stdout
    assert APPLY_STARTED not in result.stdout
    _assert_nothing_changed(fleet, fleet.bad)


def test_a_host_failing_at_restart_stops_the_others_before_they_switch(fleet):
    wp1 = fleet.hosts["wp1"]
    wp1.sh("echo 'RewindTestNotADirective on' > %s" % BROKEN_APACHE)
    result = fleet.play("playbooks/rollback.yml", "-e", "level=full", "-e", "rewind_reason=fleet test")
    assert result.returncode != 0
    lines = report(result.stdout)
    assert lines["wp1"].startswith("failed at restart"), lines
    assert lines["wp2"] == lines["wp3"] == "stopped by the fleet: nothing changed", lines

    after = fleet.states()
    assert after["wp2"] == fleet.bad["wp2"] and after["wp3"] == fleet.bad["wp3"], "wp2 or wp3 changed"
    assert fleet.leftovers("wp2") == [] and fleet.leftovers("wp3") == [], "wp2 or wp3 keeps a run's traces"
    # wp1 switched before its restart failed: its data is the backup's, its run is unfinished, its lock free.
    assert after["wp1"]["tables"] == fleet.good["wp1"]["tables"] and after["wp1"]["tree"] == fleet.good["wp1"]["tree"]
    assert wp1.sh("systemctl is-active apache2 || true").strip() != "active"
    assert "%s/lock.json" % STATE_DIR not in fleet.leftovers("wp1")
    (journal,) = fleet.journals("wp1")
    assert journal["status"] == "failed" and journal["failure"]["phase"] == "restart"
    assert journal["completed"] == ["maintenance_on", "snapshot", "stop", "restore", "permissions"]
    fleet.wp1_run = journal["run_id"]


def test_the_same_rollback_again_finishes_every_host(fleet):
    fleet.hosts["wp1"].sh("rm -f %s" % BROKEN_APACHE)
    result = fleet.play("playbooks/rollback.yml", "-e", "level=full", "-e", "rewind_reason=fleet test")
    assert result.returncode == 0
    lines = report(result.stdout)
    assert lines["wp1"].startswith("restored: run %s, continued" % fleet.wp1_run), lines
    assert lines["wp2"].startswith("restored") and lines["wp3"].startswith("restored"), lines
    after = fleet.states()
    for name in NAMES:
        for key in ("tables", "schema", "tree", "crontab", "modes"):
            assert after[name][key] == fleet.good[name][key], "%s: %s" % (name, key)
        (journal,) = fleet.journals(name)
        assert journal["status"] == "finished"
        snapshots = fleet.hosts[name].sh("ls -d %s/snapshots/*/" % BACKUPS).split()
        assert len(snapshots) == 1, "%s: %s" % (name, snapshots)
    assert fleet.journals("wp1")[0]["run_id"] == fleet.wp1_run and len(fleet.journals("wp1")[0]["attempts"]) == 2
