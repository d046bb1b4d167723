#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark a code-only rollback of the chatbot to a release still on disk against rebuilding it.

    python tests/bench/bench_node_switch.py --setup [--repeat 3] [--keep]
    python tests/bench/bench_node_switch.py --inventory INV [--repeat 3]

--setup starts two hosts of the chatbot test image (scripts/chatbot-image.sh): rewind-bench-chatbot-app and
-db, on their own docker network; it sets the demo chatbot up (playbooks/demo/chatbot_site.yml), deploys r1, takes the pre-deployment
backups (playbooks/prepare.yml), deploys r2; --inventory uses a chatbot deployment that exists (groups
chatbot_app and chatbot_db, releases r1 and r2 on disk, backups taken before r2).
Needs the harness (DOCKER_HOST, the venv: source scripts/lib.sh).

Each round deploys r2 again (not timed), then rolls back with `playbooks/rollback.yml -e level=code`,
which switches current to releases/r1 and runs `pm2 startOrReload` (cluster mode: each new process is
up before the old one stops). It reports three times for the rollback:
  on the host   from the moment `current` points to r1 until every service's health endpoint answers
                from version 1.4.0, watched on the application host every 10 ms (the user-visible switch)
  phases        the restore, switch and restart phases in the rollback's timeline (rewind.rollback.timeline):
                the release switch task, pm2 startOrReload, the health wait, pm2 save
  playbook      the whole ansible-playbook run (lock, validate, plan, journal, verify, report …)
and, next to it, a checkout + npm ci + npm run build of the same release on the same host as the
application's user (the plan's manual rollback): with npm's cache warm, and with an empty cache.
The ratio is rebuild / on-host switch time. Last, r1 is deleted from disk and the same rollback runs
again: the role checks its tag out, runs npm ci and the build, then switches (its whole run is printed).

It also checks what CI does not (tests/integration/test_chatbot.py covers the emergency path,
molecule/chatbot the full rollback) and stops with a message when a check fails: a dry run
(--check) plans the switch to r1 on disk and changes nothing; each code-only rollback runs no build
phase, leaves releases/r1 the same folder (inode) with the same files (digest), and every PM2 process
ends online in it; the front door (nginx, /api/health) is polled every 10 ms during each switch and
every answer that is not 200 is counted; the release rebuilt from its tag equals the deployed one. The targets: the switch under 2 s per host, at least 20x
faster than the rebuild. How fast a PM2 reload is depends on how fast the new Node processes start,
so on a loaded machine (see the load average printed) both numbers grow.

Figures (development VM, 2 vCPU shared with three other engineers' container tests; Node 18, PM2
5.4.3, the demo's 101 npm packages and esbuild build), median of 3 rounds, 2026-12-07:

    load   on-host switch  phases  playbook  rebuild warm / cold   ratio  role rebuild run
    3.0-3.4    4.35 s      6.71 s   26.9 s    3.12 s / 3.17 s       0.7x      (n/a)       before the fix
    3.0-4.4    2.41 s      6.65 s   29.4 s    5.51 s / 6.61 s       2.3x      41.9 s      switch next to reload
    5.0-5.7    4.94 s     13.00 s   52.0 s    5.56 s / 5.85 s       1.1x      63.8 s      + reload in the switch's
                                                                                          module run, parallel apps
    by hand on the host, no controller running, load 4.4: rename + pm2 startOrReload with
    PM2_CONCURRENT_ACTIONS=3: 1.79-1.90 s; with PM2's default of 2: 1.85-3.36 s.
    no answer other than 200 at the front door in any round.

The on-host switch is bounded below by PM2's own CLI (~0.45 s) and one Node app's start with its
MongoDB login (~0.5 s), so it tracks the machine's load. The ratio cannot reach 20x with this demo:
its whole rebuild (npm ci of 101 packages + a 0.5 s esbuild build) takes 3-6 s; the plan's real
application rebuilds in minutes, and the switch does not grow with the application's size.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP_ROOT = "/opt/chatbot"
HEALTH = ["http://127.0.0.1:3001/auth/health", "http://127.0.0.1:3000/api/health",
          "http://127.0.0.1:3002/messaging/health"]

# Runs on the application host: waits for current -> releases/r1, then until every service reports 1.4.0.
OBSERVER = r"""
import json, os, sys, time, urllib.error, urllib.request
answers = {}
def front_door():
    try:
        with urllib.request.urlopen("http://127.0.0.1/api/health", timeout=5) as answer:
            code = answer.status
    except urllib.error.HTTPError as error:
        code = error.code
    except Exception:
        code = 0
    answers[code] = answers.get(code, 0) + 1
start = time.time()
while os.readlink("%(root)s/current") != "releases/r1":
    if time.time() - start > 900:
        sys.exit("current never pointed to releases/r1")
    front_door()
    time.sleep(0.01)
switched = time.time()
def version(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.load(answer).get("version")
    except Exception:
        return None
while any(version(url) != "1.4.0" for url in %(health)r):
    front_door()
    time.sleep(0.01)
served = time.time()
while time.time() - served < 1:
    front_door()
    time.sleep(0.01)
json.dump({"switched": switched, "served": served, "answers": answers}, open("/tmp/bench-observer.json", "w"))
"""

# Digest of a release's files (sources and build output, not node_modules): the rollback must leave
# r1 exactly as it was deployed, and a rebuild from its tag must produce the same files.
TREE = ("cd %s/ && find . -path ./node_modules -prune -o -path ./.git -prune -o -type f -print0 | sort -z "
        "| xargs -0 sha256sum | sha256sum | cut -d' ' -f1")

REBUILD = r"""
set -euo pipefail
cd /var/tmp && rm -rf bench-r1 bench-cache
t0=$(date +%%s.%%N)
git clone -q -c advice.detachedHead=false --depth 1 --branch r1 file://%(root)s/repo.git bench-r1
ln -s %(root)s/shared/.env bench-r1/.env
t1=$(date +%%s.%%N)
(cd bench-r1 && npm ci --no-audit --no-fund %(cache)s >/dev/null 2>&1)
t2=$(date +%%s.%%N)
(cd bench-r1 && npm run build >/dev/null 2>&1)
t3=$(date +%%s.%%N)
echo "$t0 $t1 $t2 $t3"
rm -rf bench-r1 bench-cache
"""


def sh(container, command, user=None, check=True):
    argv = ["docker", "exec"] + (["-u", user] if user else []) + [container, "bash", "-c", command]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if check and proc.returncode:
        raise RuntimeError("%s: %s failed (%d): %s" % (container, command[:80], proc.returncode, proc.stderr[-2000:]))
    return proc.stdout


def play(inventory, playbook, *args, env=None):
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), **(env or {}))
    started = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", inventory, os.path.join(ROOT, playbook)] + list(args),
                          cwd=ROOT, env=full_env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit("%s failed:\n%s" % (playbook, proc.stdout[-4000:]))
    play.output = proc.stdout
    return time.monotonic() - started


def setup(keep):
    network = "rewind-bench-chatbot"
    # The stack image with wine64, SecantusDB, the Database Tools and PM2 (built once per machine).
    image = subprocess.run([os.path.join(ROOT, "scripts", "chatbot-image.sh")], check=True, stdout=subprocess.PIPE,
                           text=True).stdout.strip()
    names = {"app": "rewind-bench-chatbot-app", "db": "rewind-bench-chatbot-db"}
    subprocess.run(["docker", "network", "create", network], capture_output=True)
    for role, name in names.items():
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "run", "-d", "--name", name, "--hostname", "chatbot-" + role, "--network", network,
                        "--privileged", "--cgroupns=host", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--stop-signal", "SIGRTMIN+3", image, "/sbin/init"],
                       check=True, capture_output=True)
    for name in names.values():
        for _ in range(100):
            if sh(name, "systemctl is-system-running || true").strip() in ("running", "degraded"):
                break
            time.sleep(0.2)
    folder = tempfile.mkdtemp(prefix="rewind-bench-")
    inventory = os.path.join(folder, "chatbot.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"all": {
            "vars": {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"},
            "children": {"chatbot": {"children": {
                "chatbot_app": {"hosts": {"chatbot-app": {"ansible_host": names["app"]}}},
                "chatbot_db": {"hosts": {"chatbot-db": {"ansible_host": names["db"]}}}}}}}}, handle)
    os.symlink(os.path.join(ROOT, "playbooks", "demo", "chatbot", "group_vars"), os.path.join(folder, "group_vars"))
    print("setting up %s and %s (inventory %s)" % (names["app"], names["db"], inventory), flush=True)
    play(inventory, "playbooks/demo/chatbot_site.yml")
    # As a deployment does: r1 live, the pre-deployment backups taken (prepare.yml), then r2.
    play(inventory, "playbooks/demo/chatbot_deploy.yml", "-e", "release=r1")
    play(inventory, "playbooks/prepare.yml", "-e", "rewind_release=r1")
    play(inventory, "playbooks/demo/chatbot_deploy.yml", "-e", "release=r2")

    def cleanup():
        if not keep:
            for name in names.values():
                subprocess.run(["docker", "rm", "-f", name], capture_output=True)
            subprocess.run(["docker", "network", "rm", network], capture_output=True)
    return inventory, cleanup


def app_container(inventory):
    with open(inventory) as handle:
        data = yaml.safe_load(handle)

    def find(group, tree):
        for name, sub in (tree.get("children") or {}).items():
            if name == group:
                host, hostvars = next(iter(sub["hosts"].items()))
                return (hostvars or {}).get("ansible_host", host)
            found = find(group, sub)
            if found:
                return found
        return None
    return find("chatbot_app", data["all"])


def phase_seconds(timeline, host, phases):
    return sum(seg["duration_s"] or 0 for seg in timeline["hosts"][host]["phases"]
               if seg["phase"] in phases and seg["status"] != "skipped")


def rebuild(container, cold):
    cache = "--cache /var/tmp/bench-cache" if cold else ""
    stamps = [float(x) for x in sh(container, REBUILD % {"root": APP_ROOT, "cache": cache}, user="chatbot").split()]
    return {"checkout": stamps[1] - stamps[0], "npm ci": stamps[2] - stamps[1], "build": stamps[3] - stamps[2],
            "total": stamps[3] - stamps[0]}


def timed_rollback(inventory, container):
    """Roll back to r1 (level=code) while the observer watches; returns (playbook seconds, observed, timeline)."""
    sh(container, "rm -f /tmp/bench-observer.json")
    observer = subprocess.Popen(["docker", "exec", container, "python3", "-c",
                                 OBSERVER % {"root": APP_ROOT, "health": HEALTH}])
    run_dir = tempfile.mkdtemp(prefix="rewind-bench-run-")
    seconds = play(inventory, "playbooks/rollback.yml", "-e", "level=code", "-e", "rewind_reason=benchmark",
                   env={"REWIND_RUN_DIR": run_dir, "ANSIBLE_CALLBACKS_ENABLED": "rewind.rollback.timeline"})
    observer.wait(timeout=120)
    seen = json.loads(sh(container, "cat /tmp/bench-observer.json"))
    with open(os.path.join(run_dir, "timeline.json")) as handle:
        timeline = json.load(handle)
    return seconds, seen, timeline


def check_r1(container, tree):
    """current is releases/r1 with the deployed files, and every PM2 process runs from it, online."""
    if sh(container, "readlink %s/current" % APP_ROOT).strip() != "releases/r1":
        sys.exit("current does not point to releases/r1 after the rollback")
    if sh(container, TREE % (APP_ROOT + "/releases/r1")).strip() != tree:
        sys.exit("releases/r1's files differ from the ones deployed")
    processes = json.loads(sh(container, "PM2_HOME=/home/chatbot/.pm2 pm2 jlist", user="chatbot"))
    for process in processes:
        cwd = sh(container, "readlink -f /proc/%d/cwd" % process["pid"]).strip() if process["pid"] else ""
        if process["pm2_env"]["status"] != "online" or cwd != APP_ROOT + "/releases/r1":
            sys.exit("%s is %s in %s, not online in releases/r1" % (process["name"], process["pm2_env"]["status"], cwd))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--setup", action="store_true", help="start and set up two hosts of the test image")
    where.add_argument("--inventory", help="inventory of an existing chatbot deployment")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="with --setup, keep the hosts")
    args = parser.parse_args()

    inventory, cleanup = setup(args.keep) if args.setup else (args.inventory, lambda: None)
    container = app_container(inventory)
    try:
        r1 = APP_ROOT + "/releases/r1"
        tree, inode = sh(container, TREE % r1).strip(), sh(container, "stat -c %i " + r1).strip()
        play(inventory, "playbooks/demo/chatbot_deploy.yml", "-e", "release=r2")
        play(inventory, "playbooks/rollback.yml", "-e", "level=code", "-e", "rewind_reason=benchmark", "--check")
        if "switch /opt/chatbot/current to releases/r1 (on disk: no rebuild)" not in play.output \
                or sh(container, "readlink %s/current" % APP_ROOT).strip() != "releases/r2":
            sys.exit("the dry run did not plan a switch to r1 on disk, or it changed current:\n" + play.output[-3000:])
        print("dry run: plans the switch to releases/r1 on disk, changes nothing", flush=True)
        switch, phases, playbook, failed = [], [], [], 0
        for round_ in range(args.repeat):
            play(inventory, "playbooks/demo/chatbot_deploy.yml", "-e", "release=r2")
            seconds, seen, timeline = timed_rollback(inventory, container)
            if phase_seconds(timeline, "chatbot-app", ("build",)):
                sys.exit("the code-only rollback rebuilt the release: it must switch to the one on disk")
            check_r1(container, tree)
            if sh(container, "stat -c %i " + r1).strip() != inode:
                sys.exit("releases/r1 was replaced: a code-only rollback to a release on disk must only switch")
            bad = {code: n for code, n in seen["answers"].items() if code != "200"}
            failed += sum(bad.values())
            switch.append(seen["served"] - seen["switched"])
            phases.append(phase_seconds(timeline, "chatbot-app", ("restore", "switch", "restart")))
            playbook.append(seconds)
            print("round %d: on the host %.2f s, restore+switch+restart phases %.2f s, playbook %.1f s, front door %d answers,"
                  " not 200: %s (load %s)" % (round_ + 1, switch[-1], phases[-1], seconds, sum(seen["answers"].values()),
                                              bad or "none", open("/proc/loadavg").read().split()[0]), flush=True)
        # The same rollback once r1 is gone from disk: the role checks its tag out, builds it, then switches.
        play(inventory, "playbooks/demo/chatbot_deploy.yml", "-e", "release=r2")
        sh(container, "rm -rf " + r1)
        rebuilt, seen, timeline = timed_rollback(inventory, container)
        if not phase_seconds(timeline, "chatbot-app", ("build",)):
            sys.exit("r1 was gone from disk, yet the rollback did not rebuild it")
        check_r1(container, tree)
        if sh(container, "test -e %s.rewind-build && echo left || true" % r1).strip():
            sys.exit("the rebuild left its build folder behind")
        role_rebuild = seen["served"] - seen["switched"], phase_seconds(timeline, "chatbot-app", ("build",)), rebuilt
        print("rollback with r1 gone from disk: build phase %.1f s, playbook %.1f s; the rebuilt r1 equals the deployed one"
              % (role_rebuild[1], role_rebuild[2]), flush=True)
        warm = [rebuild(container, cold=False) for _ in range(args.repeat)]
        cold = [rebuild(container, cold=True) for _ in range(args.repeat)]
    finally:
        cleanup()

    med = statistics.median
    on_host = med(switch)
    print("\ncode-only rollback r2 -> r1, release on disk (median of %d, chatbot-app)" % args.repeat)
    print("  %-52s %7.2f s" % ("on the host: current switched -> every service on 1.4.0", on_host))
    print("  %-52s %7.2f s" % ("restore + switch + restart phases (pm2 reload, health)", med(phases)))
    print("  %-52s %7.2f s" % ("whole ansible-playbook run", med(playbook)))
    for label, runs in (("checkout + npm ci + build, npm cache warm", warm), ("checkout + npm ci + build, npm cache empty", cold)):
        total = med(r["total"] for r in runs)
        print("  %-52s %7.2f s  (checkout %.2f, npm ci %.2f, build %.2f)  %5.1fx"
              % (label, total, med(r["checkout"] for r in runs), med(r["npm ci"] for r in runs),
                 med(r["build"] for r in runs), total / on_host))
    ratio = med(r["total"] for r in warm) / on_host
    print("  %-52s %7.2f s  (its build phase %.1f s; switched -> served %.2f s)"
          % ("r1 gone from disk: whole run, the role rebuilds it", role_rebuild[2], role_rebuild[1], role_rebuild[0]))
    print("\ntargets: on-host switch under 2 s: %s (%.2f s); at least 20x faster than a rebuild (warm cache): %s (%.1fx);"
          " no failed request at the front door during the switches: %s (%d)"
          % ("met" if on_host < 2 else "NOT met", on_host, "met" if ratio >= 20 else "NOT met", ratio,
             "met" if failed == 0 else "NOT met", failed))
    print("load average at the end: %s" % open("/proc/loadavg").read().strip())
    print("rerun: %s" % " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
