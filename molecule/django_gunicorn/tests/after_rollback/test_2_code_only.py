"""Case (c): a code-only bad release; a failing smoke test fails the rollback loudly.

r5 changes only a view (no migration). One of r1's smoke tests is made to fail before the
rollback: level=code switches back to r1, and verify fails naming the test and its assertion.
The database is untouched (CHECKSUM TABLE and SHOW CREATE TABLE of every table, the rows), and
the code is r1's commit. (A rollback run again only verifies: molecule's idempotence step.)
"""

import textwrap

import pytest

from conftest import APP, SIGN_IN, checksums_except

INJECTED = textwrap.dedent('''\
    from django.test import SimpleTestCase, tag


    @tag("smoke")
    class InjectedFailure(SimpleTestCase):
        def test_checkout_total_matches(self):
            self.assertEqual(41, 42, "injected by the django_gunicorn verifier")
''')


@pytest.fixture(scope="module")
def case(dj):
    """r5 deployed from r1, then rolled back at level code with a failing smoke test in r1."""
    assert dj.state()["release"] == "r1", "case (a) left r1 live"
    dj.deploy("r5")
    before = dj.state()
    assert dj.sh("curl -s -o /dev/null -w '%{http_code}' http://localhost/health/") == "200"
    injected = "%s/releases/r1/calls/tests/test_injected.py" % APP
    dj.sh("cat > %s <<'EOF'\n%sEOF" % (injected, INJECTED))
    try:
        result = dj.rollback("-e", "level=code")
    finally:
        dj.sh("rm -f %s" % injected)
    return {"before": before, "result": result, "after": dj.state()}


def test_a_failing_smoke_test_fails_the_rollback_loudly(dj, case):
    out = case["result"].stdout
    assert case["result"].returncode != 0
    assert ("REWIND-E-VERIFY: %s failed verification after rolling back to r1: smoke tests (smoke) pass" % dj.name) \
        in out
    assert "calls.tests.test_injected.InjectedFailure.test_checkout_total_matches" in out, "names the test"
    assert "AssertionError: 41 != 42 : injected by the django_gunicorn verifier" in out
    assert "migrations: none undone: the schema stays" in out


def test_the_code_only_rollback_left_the_database_untouched(dj, case):
    before, after = case["before"], case["after"]
    assert after["release"] == "r1"
    dj.code_is("r1")
    assert after["schema"] == before["schema"], "SHOW CREATE TABLE of every table"
    assert checksums_except(after, SIGN_IN) == checksums_except(before, SIGN_IN), "CHECKSUM TABLE"
    assert after["rows"] == before["rows"] and after["users"] == before["users"]
    assert after["migrations"] == before["migrations"]
