# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Laravel migration reader and planner (_laravel.py) and the laravel_migration_plan module.

The releases are the demo's real ones (playbooks/demo/laravel: r1 is app/, r2 and r3 overlay
it), whose migrations run against MariaDB in tests/integration/test_laravel.py; the
migrate:status texts are what Laravel 8.83 (Debian's php-laravel-framework) and Laravel 10
print.
"""

import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.rewind.rollback.plugins.module_utils._laravel import (
    ADDITIVE, ALTER, DATA, DESTRUCTIVE, RENAME, UNKNOWN, LaravelError, method_body, parse_status, plan,
    read_migration, rollback_order, tokenize)
from ansible_collections.rewind.rollback.plugins.modules import laravel_migration_plan

DEMO = Path(__file__).resolve().parents[2] / "playbooks" / "demo" / "laravel"
MIGRATIONS = "database/migrations"
R1 = ["2025_01_10_000001_create_campaigns_table", "2025_01_10_000002_create_campaign_logs_table",
      "2025_01_10_000003_create_failed_jobs_table"]
HYBRID = "2025_11_14_000001_add_hybrid_campaigns"
DROP_NOTES = "2025_12_01_000001_drop_campaign_notes"

# What `php artisan migrate:status` printed on the integration host after r2's deployment.
STATUS_8 = """\
+------+----------------------------------------------+-------+
| Ran? | Migration                                    | Batch |
+------+----------------------------------------------+-------+
| Yes  | 2025_01_10_000001_create_campaigns_table     | 1     |
| Yes  | 2025_01_10_000002_create_campaign_logs_table | 1     |
| Yes  | 2025_01_10_000003_create_failed_jobs_table   | 1     |
| Yes  | 2025_11_14_000001_add_hybrid_campaigns       | 2     |
+------+----------------------------------------------+-------+
"""
STATUS_10 = """
  Migration name .............................................. Batch / Status
  2025_01_10_000001_create_campaigns_table ........................... [1] Ran
  2025_01_10_000002_create_campaign_logs_table ....................... [1] Ran
  2025_01_10_000003_create_failed_jobs_table ......................... [1] Ran
  2025_11_14_000001_add_hybrid_campaigns ............................. Pending
"""


def status(*rows):
    """A Laravel 8 migrate:status table from (name, batch or None) pairs."""
    lines = ["+------+------+-------+", "| Ran? | Migration | Batch |", "+------+------+-------+"]
    lines += ["| %s | %s | %s |" % ("Yes" if batch else "No", name, batch or "") for name, batch in rows]
    return "\n".join(lines + ["+------+------+-------+"]) + "\n"


@pytest.fixture
def releases(tmp_path):
    """releases/r1, r2, r3 of the demo, laid out as the deploy playbook lays them out."""
    for release, overlay in (("r1", None), ("r2", "r2"), ("r3", "r3")):
        root = tmp_path / "releases" / release
        shutil.copytree(DEMO / "app", root)
        if overlay:
            shutil.copytree(DEMO / "releases" / overlay / "files", root, dirs_exist_ok=True)
    return tmp_path / "releases"


def write_migration(folder, name, up, down="Schema::dropIfExists('x');"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name + ".php")
    body = textwrap.dedent('''\
        <?php

        use Illuminate\\Database\\Migrations\\Migration;
        use Illuminate\\Database\\Schema\\Blueprint;
        use Illuminate\\Support\\Facades\\DB;
        use Illuminate\\Support\\Facades\\Schema;

        class Test extends Migration
        {
            public function up()
            {
        %s
            }
        %s
        }
        ''') % (textwrap.indent(textwrap.dedent(up).strip(), " " * 8),
                "" if down is None else "\n    public function down()\n    {\n%s\n    }\n"
                % textwrap.indent(down, " " * 8))
    path.write_text(body)
    return path


# --- the tokenizer --------------------------------------------------------------------------

def test_tokenizer_skips_comments_and_reads_strings():
    source = textwrap.dedent('''\
        <?php
        // Schema::drop('commented_out');
        # Schema::drop('hash_comment');
        /* Schema::dropIfExists('block')
           over lines */
        $a = 'it\\'s' . "tab\\t$var" . <<<SQL
          DROP TABLE t
          SQL;
        $b = <<<'NOW'
        raw \\n
        NOW;
        ''')
    tokens = tokenize(source)
    assert [t.value for t in tokens if t.kind == "id"] == []
    strings = [t.value for t in tokens if t.kind == "str"]
    assert strings == ["it's", "tab\t$var", "DROP TABLE t", "raw \\n"]
    assert tokens[0].is_("var", "$a") and tokens[0].line == 6
    assert [t.line for t in tokens if t.kind == "var"][-1] == 9


@pytest.mark.parametrize("source, what", [
    ("<?php $a = 'open", "string"),
    ("<?php /* open", "comment"),
    ("<?php $a = <<<EOT\nno end\n", "heredoc"),
])
def test_tokenizer_refuses_unterminated_input(source, what):
    with pytest.raises(LaravelError, match="unterminated " + what):
        tokenize(source)


def test_method_body_finds_up_and_down_with_return_types():
    tokens = tokenize("<?php return new class extends Migration { public function up(): void { a(); } "
                      "public function down(): void {} };")
    assert [t.value for t in method_body(tokens, "up")] == ["a", "(", ")", ";"]
    assert method_body(tokens, "down") == []
    assert method_body(tokens, "seed") is None


# --- reading the demo's real migrations ----------------------------------------------------

def test_r1_creates_tables():
    migration = read_migration(str(DEMO / "app" / MIGRATIONS / (R1[0] + ".php")))
    assert migration.name == R1[0]
    assert [op.summary for op in migration.operations] == ["creates table campaigns"]
    assert migration.reversible and not migration.destructive and migration.readable
    assert migration.reversing_drops == ["table campaigns"]


def test_r2_hybrid_migration_is_additive():
    migration = read_migration(str(DEMO / "releases" / "r2" / "files" / MIGRATIONS / (HYBRID + ".php")))
    assert [(op.kind, op.summary) for op in migration.operations] == [
        (ADDITIVE, "adds column campaigns.campaign_type (string)"),
        (ADDITIVE, "adds index on campaigns (campaign_type)"),
        (ADDITIVE, "creates table hybrid_campaign_steps"),
    ]
    assert migration.reversible and not migration.destructive
    assert migration.reversing_drops == ["column campaigns.campaign_type", "table hybrid_campaign_steps"]
    assert migration.operations[0].line == 13


def test_r3_drop_column_is_destructive():
    migration = read_migration(str(DEMO / "releases" / "r3" / "files" / MIGRATIONS / (DROP_NOTES + ".php")))
    assert [(op.kind, op.summary, op.line) for op in migration.operations] == [
        (DESTRUCTIVE, "drops column campaigns.notes", 15)]
    assert migration.destructive and migration.reversible
    assert migration.as_dict()["kinds"] == [DESTRUCTIVE]


@pytest.mark.parametrize("up, kinds, summary", [
    ("Schema::table('users', function (Blueprint $table) { $table->dropColumn(['phone', 'fax']); });",
     [DESTRUCTIVE], "drops column users.phone, users.fax"),
    ("Schema::table('users', function (Blueprint $t) { $t->dropColumn('phone', 'fax'); });",
     [DESTRUCTIVE], "drops column users.phone, users.fax"),
    ("Schema::table('users', fn (Blueprint $t) => $t->dropTimestamps());",
     [DESTRUCTIVE], "drops column users.created_at, users.updated_at"),
    ("Schema::table('posts', function ($table) { $table->dropSoftDeletes(); });",
     [DESTRUCTIVE], "drops column posts.deleted_at"),
    ("Schema::table('posts', function ($table) { $table->dropMorphs('owner'); });",
     [DESTRUCTIVE], "drops column posts.owner_type, posts.owner_id"),
    ("Schema::dropIfExists('legacy');", [DESTRUCTIVE], "drops table legacy"),
    ("\\Illuminate\\Support\\Facades\\Schema::drop('legacy');", [DESTRUCTIVE], "drops table legacy"),
    ("Schema::dropColumns('users', ['a']);", [DESTRUCTIVE], "drops column users.a"),
    ("Schema::connection('reports')->table('daily', function (Blueprint $t) { $t->dropColumn('x'); });",
     [DESTRUCTIVE], "drops column daily.x"),
    ("Schema::rename('posts', 'articles');", [RENAME], "renames table posts to articles"),
    ("Schema::table('users', function ($t) { $t->renameColumn('name', 'full_name'); });",
     [RENAME], "renames column users.name to full_name"),
    ("Schema::table('users', function ($t) { $t->string('name', 50)->change(); });",
     [ALTER], "changes column users.name to string (a narrower type may have cut values)"),
    ("Schema::table('users', function ($t) { $t->dropForeign(['team_id']); });",
     [ALTER], "dropForeign on users (team_id)"),
    ("Schema::table('users', function ($t) { $t->foreignId('team_id')->nullable()->constrained(); });",
     [ADDITIVE], "adds column users.team_id (foreignId)"),
    ("Schema::table('users', function ($t) { $t->engine = 'InnoDB'; $t->timestamps(); });",
     [ADDITIVE], "adds column users.(timestamps) (timestamps)"),
    ("DB::statement('ALTER TABLE users DROP COLUMN phone');", [DESTRUCTIVE],
     "runs SQL: ALTER TABLE users DROP COLUMN phone"),
    ("DB::statement('ALTER TABLE users DROP INDEX users_phone_index');", [ALTER],
     "runs SQL: ALTER TABLE users DROP INDEX users_phone_index"),
    ("DB::unprepared(<<<SQL\n    TRUNCATE sessions\n    SQL);", [DESTRUCTIVE], "runs SQL: TRUNCATE sessions"),
    ("DB::statement('CREATE INDEX a ON b (c)');", [ADDITIVE], "runs SQL: CREATE INDEX a ON b (c)"),
    ("DB::table('campaigns')->where('status', 'draft')->delete();", [DESTRUCTIVE],
     "deletes rows of campaigns (DB::table()->delete)"),
    ("DB::connection('mysql')->table('campaigns')->truncate();", [DESTRUCTIVE],
     "deletes rows of campaigns (DB::table()->truncate)"),
    ("DB::table('campaigns')->whereNull('type')->update(['type' => 'standard']);", [DATA],
     "writes rows of campaigns (DB::table()->update); only down() can undo it"),
    ("DB::table('campaigns')->where('id', 1)->first();", [], None),
    ("$this->backfillTypes();", [UNKNOWN], "calls $this->backfillTypes(), which rewind cannot read"),
    ("DB::statement($sql);", [UNKNOWN], "runs SQL rewind cannot read (DB::statement with a computed string)"),
    ("// $table->dropColumn('x'); Schema::drop('y');\nSchema::create('y', function ($t) { $t->id(); });",
     [ADDITIVE], "creates table y"),
    ("if (! Schema::hasColumn('users', 'phone')) {\n    Schema::table('users', function ($t) {\n"
     "        $t->string('phone')->nullable();\n    });\n}", [ADDITIVE], "adds column users.phone (string)"),
])
def test_classification(tmp_path, up, kinds, summary):
    migration = read_migration(str(write_migration(tmp_path, "2025_01_01_000000_test", up)))
    assert migration.kinds == kinds
    if summary is not None:
        assert migration.operations[0].summary == summary


@pytest.mark.parametrize("down, reversible", [(None, False), ("", False), ("// nothing to undo", False),
                                              ("Schema::dropIfExists('x');", True)])
def test_a_migration_without_a_working_down_is_irreversible(tmp_path, down, reversible):
    path = write_migration(tmp_path, "2025_01_01_000000_x", "Schema::create('x', fn ($t) => $t->id());", down)
    assert read_migration(str(path)).reversible is reversible


def test_a_file_without_up_is_refused_with_its_path(tmp_path):
    path = tmp_path / "2025_01_01_000000_broken.php"
    path.write_text("<?php\nclass Broken { }\n")
    with pytest.raises(LaravelError, match="cannot read migration .*2025_01_01_000000_broken.php: no up"):
        read_migration(str(path))


# --- migrate:status ----------------------------------------------------------------------

def test_parse_status_laravel_8_table():
    rows = parse_status(STATUS_8)
    assert [(r["name"], r["ran"], r["batch"]) for r in rows] == [(name, True, 1) for name in R1] + [(HYBRID, True, 2)]
    assert [r["name"] for r in rollback_order(rows)] == [HYBRID] + R1[::-1]


def test_parse_status_laravel_10_lines():
    rows = parse_status(STATUS_10)
    assert [(r["name"], r["ran"], r["batch"]) for r in rows] == [(name, True, 1) for name in R1] + [(HYBRID, False, None)]


def test_parse_status_without_a_migrations_table():
    assert parse_status("Migration table not found.\n") == []


def test_parse_status_refuses_what_it_cannot_read():
    with pytest.raises(LaravelError, match="cannot read the output of artisan migrate:status"):
        parse_status("SQLSTATE[HY000] [2002] Connection refused")


# --- the plan -----------------------------------------------------------------------------

def test_r2_to_r1_reverses_the_hybrid_migration_in_one_step(releases):
    result = plan(str(releases / "r2"), str(releases / "r1"), status=STATUS_8)
    assert (result["choice"], result["steps"], result["revert"]) == ("reverse", 1, [HYBRID])
    assert result["reasons"] == [] and result["pending"] == []
    assert any("drops column campaigns.campaign_type, table hybrid_campaign_steps" in n for n in result["notes"])


def test_steps_count_every_migration_since_the_target(releases):
    """Two releases since the target: two batches, two steps (never a fixed --step=1)."""
    write_migration(releases / "r2" / MIGRATIONS, "2025_11_20_000001_add_channels",
                    "Schema::create('channels', fn ($t) => $t->id());")
    text = status(*[(n, 1) for n in R1], (HYBRID, 2), ("2025_11_20_000001_add_channels", 3))
    result = plan(str(releases / "r2"), str(releases / "r1"), status=text)
    assert (result["choice"], result["steps"]) == ("reverse", 2)
    assert result["revert"] == ["2025_11_20_000001_add_channels", HYBRID]


def test_a_destructive_migration_is_refused(releases):
    text = status(*[(n, 1) for n in R1], (DROP_NOTES, 2))
    result = plan(str(releases / "r3"), str(releases / "r1"), status=text)
    assert (result["choice"], result["revert"]) == ("restore", [DROP_NOTES])
    assert result["reasons"] == [
        "%s drops column campaigns.notes (line 15): the data is gone, and reversing it brings back an empty column"
        % DROP_NOTES]


def test_a_destructive_migration_is_reversed_when_allowed(releases):
    text = status(*[(n, 1) for n in R1], (DROP_NOTES, 2))
    result = plan(str(releases / "r3"), str(releases / "r1"), status=text, allow_destructive=True)
    assert (result["choice"], result["steps"], result["reasons"]) == ("reverse", 1, [])
    assert "reversing it anyway" in result["warnings"][0]


def test_an_irreversible_migration_is_refused_even_when_destructive_is_allowed(releases):
    write_migration(releases / "r2" / MIGRATIONS, "2025_11_20_000001_no_down",
                    "Schema::create('t', fn ($t) => $t->id());", down=None)
    text = status(*[(n, 1) for n in R1], (HYBRID, 2), ("2025_11_20_000001_no_down", 2))
    result = plan(str(releases / "r2"), str(releases / "r1"), status=text, allow_destructive=True)
    assert result["choice"] == "restore"
    assert result["reasons"] == ["2025_11_20_000001_no_down has no down(): reversing it would only forget it ran "
                                 "and leave the schema as it is"]


def test_a_migration_the_target_needs_that_ran_later_blocks_stepping(releases):
    """The target knows 000003, but it ran in a later batch than the new migration."""
    text = status((R1[0], 1), (R1[1], 1), (HYBRID, 2), (R1[2], 3))
    result = plan(str(releases / "r2"), str(releases / "r1"), status=text)
    assert result["choice"] == "restore"
    assert "would reverse %s, which the target release needs" % R1[2] in result["reasons"][0]


def test_a_run_migration_missing_from_the_current_release_is_refused(releases):
    text = status(*[(n, 1) for n in R1], (HYBRID, 2), ("2025_11_30_000001_hotfix", 3))
    result = plan(str(releases / "r2"), str(releases / "r1"), status=text)
    assert result["choice"] == "restore"
    assert result["reasons"] == ["2025_11_30_000001_hotfix was run but is not in the current release's "
                                 "database/migrations: migrate:rollback cannot reverse it"]


def test_nothing_to_do_when_the_new_migration_did_not_run(releases):
    result = plan(str(releases / "r2"), str(releases / "r1"), status=STATUS_10)
    assert (result["choice"], result["steps"], result["revert"]) == ("none", 0, [])
    assert result["pending"] == [HYBRID]
    assert result["notes"] == ["not run, so nothing to reverse: " + HYBRID]


def test_the_ledger_stands_in_for_a_target_release_not_on_disk(releases):
    ledger = [{"id": "r1", "migrations": R1}, {"id": "r2", "migrations": [HYBRID]}]
    result = plan(str(releases / "r2"), str(releases / "gone"), status=STATUS_8, releases=ledger,
                  current_release="r2", target_release="r1")
    assert (result["choice"], result["steps"]) == ("reverse", 1)
    assert result["notes"][0] == "the target release r1 is not on disk: its migrations are taken from the ledger"


def test_a_ledger_that_disagrees_with_the_folders_is_reported(releases):
    ledger = [{"id": "r1", "migrations": R1}, {"id": "r2", "migrations": [HYBRID, "2025_11_14_000002_seed"]}]
    result = plan(str(releases / "r2"), str(releases / "r1"), status=STATUS_8, releases=ledger,
                  current_release="r2", target_release="r1")
    assert result["choice"] == "reverse" and result["steps"] == 1
    assert "only in the ledger 2025_11_14_000002_seed" in result["warnings"][0]


def test_releases_rolled_back_before_do_not_count(releases):
    """r2 was rolled back (flagged bad) and r3, built on r1, deployed: only r3's migration is new."""
    ledger = [{"id": "r1", "migrations": R1}, {"id": "r2", "migrations": [HYBRID], "bad": True},
              {"id": "r3", "migrations": [DROP_NOTES]}]
    text = status(*[(n, 1) for n in R1], (DROP_NOTES, 2))
    result = plan(str(releases / "r3"), str(releases / "r1"), status=text, releases=ledger,
                  current_release="r3", target_release="r1", allow_destructive=True)
    assert (result["choice"], result["revert"], result["warnings"][1:]) == ("reverse", [DROP_NOTES], [])
    assert "ledger and the release folders disagree" not in " ".join(result["warnings"])


def test_without_status_every_missing_migration_counts(releases):
    result = plan(str(releases / "r2"), str(releases / "r1"))
    assert (result["choice"], result["steps"], result["pending"]) == ("reverse", 1, None)


def test_an_unknown_target_is_an_error(releases):
    with pytest.raises(LaravelError, match="cannot tell which migrations the target release has"):
        plan(str(releases / "r2"), str(releases / "gone"), status=STATUS_8)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6),
       new=st.integers(min_value=0, max_value=4))
def test_steps_reverse_exactly_the_new_migrations(tmp_path_factory, batches, new):
    """Whatever the batches: either --step=N reverses exactly the migrations the target lacks
    (the first N of migrate:rollback's order), or the plan refuses."""
    root = tmp_path_factory.mktemp("prop")
    names = ["2025_01_%02d_000000_m%d" % (i + 1, i) for i in range(len(batches))]
    new = min(new, len(names))
    for release, count in (("target", len(names) - new), ("current", len(names))):
        for name in names[:count]:
            write_migration(root / release / MIGRATIONS, name, "Schema::create('t', fn ($t) => $t->id());")
        (root / release / MIGRATIONS).mkdir(parents=True, exist_ok=True)
    text = status(*zip(names, batches))
    result = plan(str(root / "current"), str(root / "target"), status=text)
    order = [r["name"] for r in rollback_order(parse_status(text))]
    if result["choice"] == "reverse":
        assert sorted(order[:result["steps"]]) == sorted(names[len(names) - new:])
    elif result["choice"] == "none":
        assert new == 0
    else:
        assert set(order[:new]) != set(names[len(names) - new:])


# --- the module ---------------------------------------------------------------------------

def test_module_returns_the_artisan_command(run, releases):
    result, warnings = run(laravel_migration_plan, current=str(releases / "r2"), target=str(releases / "r1"),
                           status=STATUS_8)
    assert result["changed"] is False and warnings == []
    assert result["command"] == ["migrate:rollback", "--step=1", "--force"]
    assert result["migrations"][0]["reversing_drops"] == ["column campaigns.campaign_type",
                                                          "table hybrid_campaign_steps"]


def test_module_gives_no_command_when_it_refuses(run, releases):
    result, _ = run(laravel_migration_plan, check_mode=True, current=str(releases / "r3"),
                    target=str(releases / "r1"), status=status(*[(n, 1) for n in R1], (DROP_NOTES, 2)))
    assert (result["choice"], result["command"], result["steps"]) == ("restore", [], 1)


def test_module_fails_tagged_on_a_release_without_migrations(run, tmp_path):
    result, _ = run(laravel_migration_plan, current=str(tmp_path), target=str(tmp_path))
    assert result["failed"]
    assert result["msg"].startswith("REWIND-E-INPUT: the current release %s has no database/migrations folder"
                                    % tmp_path)
