"""Case (d): an irreversible RunPython; the plan says restore and why, and the restore does it.

r4's calls.0002_normalise_subjects rewrites every call's subject in a RunPython without
reverse_code. The dry run (--check) changes nothing and says the database must be restored,
naming the migration and the reason; level full then brings the original subjects back.
"""

import pytest

from conftest import SIGN_IN, checksums_except


@pytest.fixture(scope="module")
def case(dj):
    before = dj.deploy("r4")
    on_r4 = dj.state()
    assert [r[1] for r in on_r4["rows"]["calls_call"]][:1] == ["Printer on fire again"], "r4 rewrote the subjects"
    return {"before": before, "on_r4": on_r4}


def test_the_dry_run_says_restore_and_why(dj, case):
    result = dj.rollback("-e", "level=full", "--check")
    assert result.returncode == 0
    plan = result.stdout
    assert "dry run, nothing will change" in plan
    assert "migrations: restore the database from the pre-deploy backup (calls.0002_normalise_subjects)" in plan
    assert ("why:      calls.0002_normalise_subjects runs normalise_subjects (RunPython) without reverse_code: "
            "Django cannot reverse it (IrreversibleError), and what it changed is only in the backup") in plan
    assert "do:         db, code" in plan
    assert dj.state() == case["on_r4"]


def test_the_restore_brings_the_subjects_back(dj, case):
    result = dj.rollback("-e", "level=full")
    assert result.returncode == 0
    # verify ran the health check and the smoke tests (the report lists each check that passed)
    assert "verified: database equals the backup (CHECKSUM TABLE)" in result.stdout
    assert "verified: health /health/ answers 200 from r1 with the database ok" in result.stdout
    assert "verified: smoke tests (smoke) pass" in result.stdout
    assert "verified: agent signs in and opens /calls/" in result.stdout
    after, before = dj.state(), case["before"]
    assert after["release"] == "r1"
    assert after["schema"] == before["schema"], "SHOW CREATE TABLE of every table as before r4"
    assert after["rows"] == before["rows"], "the original subjects, spelling and spaces included"
    assert after["migrations"] == before["migrations"] and after["users"] == before["users"]
    assert checksums_except(after, SIGN_IN) == checksums_except(before, SIGN_IN), "CHECKSUM TABLE"
