"""Real-host fixtures: systemd Debian 12 containers of the harness image, driven by ansible-playbook.

These tests need the harness (scripts/harness.sh): a dockerd with DOCKER_HOST exported and the
local/debian12:rewind image. scripts/test sets both up; without them the tests fail, never skip.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGE = "local/debian12:rewind"


class Host:
    """One container, its inventory, and ansible-playbook runs against it.

    ``capture`` is a command printing the host's state as JSON; ``state()`` runs it.
    """

    capture = None

    def __init__(self, name, hostname, group, workdir, network=None, image=IMAGE):
        self.name, self.hostname, self.group, self.network, self.image = name, hostname, group, network, image
        self.inventory = os.path.join(workdir, "hosts.yml")
        with open(self.inventory, "w") as handle:
            handle.write("all:\n  children:\n    %s:\n      hosts:\n        %s:\n          ansible_host: %s\n"
                         % (group, hostname, name))
        os.symlink(os.path.join(ROOT, "inventories", "demo", "group_vars"), os.path.join(workdir, "group_vars"))
        self.log = os.path.join(workdir, "ansible.log")

    def start(self):
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)
        # On a user network the other containers reach this one by its name and its hostname.
        network = ["--network", self.network, "--network-alias", self.hostname] if self.network else []
        subprocess.run(["docker", "run", "-d", "--name", self.name, "--hostname", self.hostname, "--privileged",
                        "--cgroupns=host", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--stop-signal", "SIGRTMIN+3"]
                       + network + [self.image, "/sbin/init"], check=True, capture_output=True)
        for _ in range(100):
            state = self.sh("systemctl is-system-running || true")
            if state.strip() in ("running", "degraded"):
                return
            time.sleep(0.2)
        raise RuntimeError("container %s did not boot: %s" % (self.name, state))

    def remove(self):
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)

    def sh(self, command, check=True):
        proc = subprocess.run(["docker", "exec", self.name, "bash", "-c", command], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError("on %s: %s\nexit %d\n%s%s" % (self.name, command, proc.returncode,
                                                              proc.stdout, proc.stderr))
        return proc.stdout

    def state(self):
        return json.loads(self.sh(self.capture))

    def play(self, playbook, *args, env=None):
        """Run a playbook; returns the CompletedProcess (stdout has stderr folded in)."""
        argv = ["ansible-playbook", "-i", self.inventory, os.path.join(ROOT, playbook)] + list(args)
        full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOG_PATH=self.log,
                        ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", **(env or {}))
        proc = subprocess.run(argv, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        print("$ %s\n%s" % (" ".join(shlex.quote(a) for a in argv[3:]), proc.stdout[-6000:]))
        return proc


def recap(output, host):
    """The PLAY RECAP counters of one host, e.g. {'ok': 20, 'changed': 0, 'failed': 0, …}."""
    for line in output.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return {k: int(v) for k, v in (pair.split("=") for pair in line.split(":", 1)[1].split())}
    raise AssertionError("no recap for %s in the output" % host)


@pytest.fixture(scope="session")
def harness():
    if not os.environ.get("DOCKER_HOST") or subprocess.run(["docker", "image", "inspect", IMAGE],
                                                            capture_output=True).returncode != 0:
        pytest.fail("the test-host harness is not up: run scripts/harness.sh and "
                    "eval \"$(scripts/harness.sh env)\" (scripts/test does both)")


@pytest.fixture(scope="module")
def host_factory(harness):
    hosts, networks = [], []
    workdir = tempfile.mkdtemp(prefix="rewind-it-")

    def make(name, hostname, group, network=None, image=IMAGE):
        """A started host of ``image``; with ``network`` (a docker network, created if missing) it joins it."""
        sub = os.path.join(workdir, name)
        os.makedirs(sub)
        if network and subprocess.run(["docker", "network", "inspect", network], capture_output=True).returncode:
            subprocess.run(["docker", "network", "create", network], check=True, capture_output=True)
            networks.append(network)
        host = Host(name, hostname, group, sub, network=network, image=image)
        host.start()
        hosts.append(host)
        return host
    yield make
    if not os.environ.get("REWIND_KEEP_HOSTS"):
        for host in hosts:
            host.remove()
        for network in networks:
            subprocess.run(["docker", "network", "rm", network], capture_output=True)


def pytest_terminal_summary(terminalreporter):
    """Suites that tabulate their results (test_faults: fault × phase → verdict) print them last."""
    faults = sys.modules.get("test_faults")
    for line in (faults.table_lines() if faults else []):
        terminalreporter.write_line(line)
