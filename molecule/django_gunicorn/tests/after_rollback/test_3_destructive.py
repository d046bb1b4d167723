"""Case (b): a release with a destructive migration; the verified pre-deploy backup is restored.

r3 drops Customer.phone. A call is logged on r3 after the deployment, and r1's folder is
deleted. Level code is refused first (r1's code reads the dropped column); level full with
the deployment's pre-deploy tag checks r1 out of git, builds it, and restores the pre-deploy
backup: every table as before r3, the phone numbers back; the pre-rollback snapshot keeps
the call written on r3.
"""

import re

import pytest

from conftest import APP, BACKUPS, REPO, SIGN_IN, checksums_except


@pytest.fixture(scope="module")
def case(dj):
    before = dj.deploy("r3")
    assert "`phone`" not in dj.state()["schema"]["calls_customer"]
    dj.log_call("Logged on r3, after the deployment", customer="Umbrella")
    return {"before": before, "on_r3": dj.state()}


def test_level_code_is_refused_on_the_dropped_column(dj, case):
    result = dj.rollback("-e", "level=code")
    assert result.returncode != 0
    out = " ".join(result.stdout.split())  # the YAML output wraps long messages
    assert "REWIND-E-INPUT: level code keeps the database as it is, but release r1 cannot run on it: " \
        "calls.0003_remove_customer_phone removes field customer.phone: the data is gone" in out
    assert "Roll back with -e level=database (or full), which restores the pre-deploy backup over" in out
    assert "TASK [rewind.rollback.django_gunicorn : Stop gunicorn]" not in out
    assert dj.state() == case["on_r3"]


def test_the_pre_deploy_backup_is_restored_and_r1_checked_out_of_git(dj, case):
    tag = dj.sh("git -C %s tag --list 'pre-deploy-*' --points-at release-r1 | sort | tail -1" % REPO).strip()
    assert tag, "the deployment tagged the live commit pre-deploy-*"
    dj.sh("rm -rf %s/releases/r1" % APP)

    result = dj.rollback("-e", "level=full", "-e", "django_gunicorn_git_ref=" + tag)
    assert result.returncode == 0
    out = result.stdout
    assert "checked out from %s at %s (pre-deploy tag), virtualenv built, static files collected" % (REPO, tag) in out
    assert "migrations: restore the database from the pre-deploy backup" in out
    assert "calls.0003_remove_customer_phone removes field customer.phone: the data is gone" in out
    assert re.search(r"backup:\s+db %s/\S+-pre-deploy/db\.sql\.zst \(created \S+, release r1, verified\)" % BACKUPS, out)
    assert "verified: database equals the backup (CHECKSUM TABLE)" in out, "verify compared it again after the restore"
    after, before = dj.state(), case["before"]

    assert after["release"] == "r1" and dj.health()["release"] == "r1"
    dj.code_is("r1")
    assert dj.sh("cat %s/releases/r1/REVISION" % APP).strip() == \
        dj.sh("git -C %s rev-parse %s^{commit}" % (REPO, tag)).strip()
    assert after["schema"] == before["schema"], "SHOW CREATE TABLE of every table as before r3"
    assert after["rows"] == before["rows"], "the phone numbers are back"
    assert after["migrations"] == before["migrations"] and after["users"] == before["users"]
    assert checksums_except(after, SIGN_IN) == checksums_except(before, SIGN_IN), "CHECKSUM TABLE"
    assert "Logged on r3, after the deployment" in dj.snapshot_dump(out), "the snapshot keeps the call logged on r3"
