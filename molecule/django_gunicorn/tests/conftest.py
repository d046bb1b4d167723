"""Helpers of the django_gunicorn verifier: the instance's state, and playbook runs against it.

The verify steps of this scenario (molecule.yml) do more than look: after the (a) checks, the
other cases of issue 7 deploy further releases and roll them back on the same instance, each
rollback run here with ansible-playbook on molecule's inventory and environment, so that its
output can be asserted. Commands on the instance go through `docker exec` (molecule's
DOCKER_HOST): the state is read dozens of times, and an Ansible round trip per read costs a
second each.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NAME = os.environ.get("REWIND_MOLECULE_PREFIX", "rewind-mol") + "-dj1"
APP = "/srv/callcentre"
BACKUPS = "/var/backups/rewind/callcentre"
REPO = "/srv/git/callcentre.git"
CAPTURE = "python3 /opt/callcentre-demo/capture_state.py"
# The demo's credentials (molecule.yml's group_vars): no output or log may show them.
SECRETS = ("demo-Callcentre-db-pw", "demo-Agent-pw")
# Every sign-in rewrites auth_user.last_login and adds a session; verify signs in. Those two
# tables are compared through state["users"] (auth_user without last_login) instead.
SIGN_IN = {"auth_user", "django_session"}
# Reversing CreateModel leaves the model's content type and permissions (Django keeps stale
# content types until remove_stale_contenttypes runs).
STALE_CONTENT_TYPES = {"auth_permission", "django_content_type"}
LOG = os.path.join(tempfile.mkdtemp(prefix="rewind-mol-dj-"), "ansible.log")
OUTPUTS = []


class Instance:
    """The molecule instance, as the cases need it."""

    name = NAME
    log = LOG
    outputs = OUTPUTS

    def sh(self, command):
        proc = subprocess.run(["docker", "exec", NAME, "bash", "-c", command], capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError("on %s: %s\nexit %d\n%s%s" % (NAME, command, proc.returncode, proc.stdout,
                                                              proc.stderr))
        return proc.stdout

    def state(self):
        return json.loads(self.sh(CAPTURE))

    def play(self, playbook, *args):
        """Run a playbook of the collection on the instance; stdout has stderr folded in."""
        # The inventory folder, as molecule passes it (its group_vars sit beside the file).
        inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
        argv = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, playbook)]
        env = dict(os.environ, ANSIBLE_LOG_PATH=LOG, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
        proc = subprocess.run(argv + list(args), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        OUTPUTS.append(proc.stdout)
        print("$ %s\n%s" % (" ".join(shlex.quote(a) for a in [playbook] + list(args)), proc.stdout[-6000:]))
        return proc

    def rollback(self, *args):
        return self.play("playbooks/rollback.yml", "-e", "rewind_reason=molecule django_gunicorn", *args)

    def deploy(self, release):
        """Deploy release (with its pre-deploy backup); returns the state before it."""
        before = self.state()
        assert self.play("playbooks/demo/django_deploy.yml", "-e", "release=" + release).returncode == 0
        assert self.state()["release"] == release
        return before

    def log_call(self, subject, customer="ACME Ltd"):
        """Log a call through the live release's code, as an agent does; returns its id."""
        return self.sh("cd %s/current && runuser -u callcentre -- venv/bin/python manage.py add_call "
                       "--customer %s --subject %s" % (APP, shlex.quote(customer), shlex.quote(subject))).strip()

    def code_is(self, release):
        """Assert that the release's folder holds exactly the commit tagged release-<id> in the origin:
        git compares every tracked file's blob hash, and any file added, changed or removed
        (the virtualenv and the static files are ignored) shows in the porcelain status."""
        tree = "%s/releases/%s" % (APP, release)
        head = self.sh("git -C %s rev-parse HEAD" % tree).strip()
        assert head == self.sh("git -C %s rev-parse release-%s^{commit}" % (REPO, release)).strip()
        assert self.sh("git -C %s status --porcelain --untracked-files=all" % tree) == "", \
            "%s differs from the commit of %s" % (tree, release)

    def health(self):
        return json.loads(self.sh("curl -s http://localhost/health/"))

    def snapshot_dump(self, output):
        """The database dump of the pre-rollback snapshot the rollback's report names."""
        match = re.search(r"pre-rollback snapshot: (\S+)", output)
        assert match, "the report says where the snapshot is"
        return self.sh("zstd -dc %s/db.sql.zst" % match.group(1))


def recap(output, host=NAME):
    """The PLAY RECAP counters of one host, e.g. {'ok': 20, 'changed': 0, 'failed': 0, …}."""
    for line in output.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return {k: int(v) for k, v in (pair.split("=") for pair in line.split(":", 1)[1].split())}
    raise AssertionError("no recap for %s in the output" % host)


def checksums_except(state, tables):
    return {t: v for t, v in state["tables"].items() if t not in tables}


@pytest.fixture(scope="session")
def dj():
    return Instance()
