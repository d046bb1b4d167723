"""Before the converge, with r2 live (prepare.yml): level=code is refused, and nothing changes.

r2's migration calls.0002_priority_tags only adds (a table, a NOT NULL column, an index), yet
r1's code cannot run on the result: it inserts calls without the NOT NULL priority. Level code
keeps the schema, so the plan refuses it, naming the migration and the level that works,
before anything is stopped.
"""

from conftest import SECRETS


def test_level_code_is_refused_when_the_old_code_cannot_run_on_the_schema(dj):
    r2 = dj.state()
    assert r2["release"] == "r2"
    assert "`priority` smallint(5) unsigned NOT NULL" in r2["schema"]["calls_call"]

    result = dj.rollback("-e", "level=code")
    assert result.returncode != 0
    assert "REWIND-E-INPUT: level code keeps the database as it is" in result.stdout
    assert "calls.0002_priority_tags adds field call.priority" in result.stdout, "names the migration and why"
    assert "-e level=database" in result.stdout
    assert "TASK [rewind.rollback.django_gunicorn : Stop gunicorn]" not in result.stdout
    assert dj.state() == r2
    assert not any(secret in result.stdout for secret in SECRETS)
