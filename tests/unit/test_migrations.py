# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Django migration planner: classification, graph, decision, and the migration_plan module.

fixtures/django_project/r1, r2, r3 are three releases of a real Django project whose migrations
makemigrations wrote (see its README.md). The tests at the end run them with Django on SQLite,
when Django is installed, to check that the planner agrees with Django itself.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.rewind.rollback.plugins.module_utils._migrations import (
    MigrationError, Release, parse_applied, plan, read_migration)
from ansible_collections.rewind.rollback.plugins.modules import migration_plan

PROJECT = Path(__file__).parent / "fixtures" / "django_project"
R1, R2, R3 = (str(PROJECT / r) for r in ("r1", "r2", "r3"))

TEMPLATE = '''\
from django.contrib.postgres.operations import AddIndexConcurrently, CreateExtension
from django.db import migrations, models
from myproject import operations as project_operations


def forwards(apps, schema_editor):
    pass


def backwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):

    dependencies = {dependencies!r}

    operations = [
{operations}
    ]
'''


def _write(path, operations, dependencies=()):
    """A migration file at path with the given operation sources (one string each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "__init__.py").touch()
    body = "".join(textwrap.indent(op.strip(), " " * 8) + ",\n" for op in operations)
    path.write_text(TEMPLATE.format(dependencies=list(dependencies), operations=body.rstrip("\n")))
    return path


def _release(root, chain, app="calls"):
    """A release whose app has one migration per entry of chain (lists of operation sources), in a line."""
    previous = []
    for index, operations in enumerate(chain, 1):
        name = "%04d_step" % index
        _write(root / app / "migrations" / (name + ".py"), operations, previous)
        previous = [(app, name)]
    return str(root)


def _labels(reasons):
    return [reason.split(" ", 1)[0] for reason in reasons]


# --- classification of each operation --------------------------------------------------

#: (operation source, (op, kind, compatible, reversible, destructive))
OPERATIONS = [
    ("migrations.CreateModel(name='Tag', fields=[('id', models.BigAutoField(primary_key=True))])",
     ("CreateModel", "additive", True, True, False)),
    ("migrations.AddField(model_name='call', name='note', field=models.TextField(null=True, blank=True))",
     ("AddField", "additive", True, True, False)),
    ("migrations.AddField('call', 'level', models.IntegerField(db_default=1))",
     ("AddField", "additive", True, True, False)),
    ("migrations.AddField(model_name='call', name='tags', field=models.ManyToManyField(to='calls.tag'))",
     ("AddField", "additive", True, True, False)),
    ("migrations.AddField(model_name='call', name='priority', field=models.IntegerField(default=0))",
     ("AddField", "additive", False, True, False)),
    ("migrations.AddField(model_name='call', name='code', field=models.CharField(default='x', max_length=5), "
     "preserve_default=False)", ("AddField", "additive", False, True, False)),
    ("migrations.AddIndex(model_name='call', index=models.Index(fields=['created'], name='call_created_idx'))",
     ("AddIndex", "additive", True, True, False)),
    ("AddIndexConcurrently(model_name='call', index=models.Index(fields=['subject'], name='call_subject_idx'))",
     ("AddIndexConcurrently", "additive", True, True, False)),
    ("migrations.AddConstraint(model_name='call', constraint=models.UniqueConstraint(fields=['subject'], "
     "name='uniq_subject'))", ("AddConstraint", "additive", False, True, False)),
    ("migrations.AlterModelOptions(name='call', options={'ordering': ['-created']})",
     ("AlterModelOptions", "state", True, True, False)),
    ("migrations.RenameIndex(model_name='call', new_name='call_new_idx', old_name='call_old_idx')",
     ("RenameIndex", "alter", True, True, False)),
    ("migrations.AlterField(model_name='call', name='subject', field=models.CharField(max_length=100))",
     ("AlterField", "alter", False, True, False)),
    ("migrations.AlterUniqueTogether(name='call', unique_together={('customer', 'subject')})",
     ("AlterUniqueTogether", "alter", False, True, False)),
    ("migrations.RemoveIndex(model_name='call', name='call_created_idx')",
     ("RemoveIndex", "alter", False, True, False)),
    ("migrations.RemoveConstraint(model_name='call', name='uniq_subject')",
     ("RemoveConstraint", "alter", False, True, False)),
    ("migrations.AlterOrderWithRespectTo(name='call', order_with_respect_to='customer')",
     ("AlterOrderWithRespectTo", "alter", False, True, False)),
    ("migrations.AlterOrderWithRespectTo(name='call', order_with_respect_to=None)",
     ("AlterOrderWithRespectTo", "alter", False, True, True)),
    ("migrations.RenameField(model_name='call', old_name='note', new_name='memo')",
     ("RenameField", "rename", False, True, False)),
    ("migrations.RenameModel(old_name='Ticket', new_name='Call')", ("RenameModel", "rename", False, True, False)),
    ("migrations.AlterModelTable(name='call', table='calls_phonecall')",
     ("AlterModelTable", "rename", False, True, False)),
    ("migrations.RemoveField(model_name='customer', name='phone')", ("RemoveField", "destructive", False, True, True)),
    ("migrations.DeleteModel(name='Tag')", ("DeleteModel", "destructive", False, True, True)),
    ("migrations.RunPython(forwards)", ("RunPython", "data", False, False, False)),
    ("migrations.RunPython(code=forwards, reverse_code=None)", ("RunPython", "data", False, False, False)),
    ("migrations.RunPython(forwards, backwards)", ("RunPython", "data", False, True, False)),
    ("migrations.RunPython(forwards, reverse_code=migrations.RunPython.noop)",
     ("RunPython", "data", False, True, False)),
    ("migrations.RunSQL('UPDATE calls_call SET subject = TRIM(subject)')", ("RunSQL", "data", False, False, False)),
    ("migrations.RunSQL(\"INSERT INTO calls_tag (name) VALUES ('urgent')\", \"DELETE FROM calls_tag WHERE name = "
     "'urgent'\")", ("RunSQL", "data", False, True, False)),
    ("migrations.RunSQL('CREATE VIEW v AS SELECT 1', reverse_sql=migrations.RunSQL.noop)",
     ("RunSQL", "data", False, True, False)),
    ("migrations.RunSQL('ALTER TABLE calls_call DROP INDEX calls_subject', 'CREATE INDEX calls_subject ON "
     "calls_call (subject)')", ("RunSQL", "data", False, True, False)),
    ("migrations.RunSQL('ALTER TABLE accounts_customer DROP COLUMN phone', 'ALTER TABLE accounts_customer ADD "
     "COLUMN phone varchar(30)')", ("RunSQL", "data", False, True, True)),
    ("migrations.RunSQL(['DELETE FROM calls_tag'], reverse_sql=[''])", ("RunSQL", "data", False, True, True)),
    ("migrations.RunSQL('ALTER TABLE accounts_customer DROP phone')", ("RunSQL", "data", False, False, True)),
    ("migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField(model_name='customer', "
     "name='phone')], database_operations=[])", ("SeparateDatabaseAndState", "state", True, True, False)),
    ("migrations.SeparateDatabaseAndState(database_operations=[migrations.DeleteModel(name='Tag')])",
     ("DeleteModel", "destructive", False, True, True)),
    ("CreateExtension('hstore')", ("CreateExtension", "unknown", False, False, False)),
    ("project_operations.AddField(model_name='call', name='note', field=models.TextField(null=True))",
     ("AddField", "unknown", False, False, False)),
    ("migrations.AddField(**FIELD)", ("AddField", "unknown", False, False, False)),
]


def _classify(tmp_path, source):
    return read_migration(str(_write(tmp_path / "calls" / "migrations" / "0002_x.py", [source])), "calls", "0002_x")


@pytest.mark.parametrize("source, expected", OPERATIONS, ids=[s[:60] for s, _ in OPERATIONS])
def test_operation_classification(tmp_path, source, expected):
    (op,) = _classify(tmp_path, source).operations
    assert (op.op, op.kind, op.compatible, op.reversible, op.destructive) == expected
    assert op.line == 19 and op.summary and op.note


@pytest.mark.parametrize("source, summary", [
    ("migrations.AddField(model_name='call', name='priority', field=models.IntegerField(default=0))",
     "adds field call.priority (NOT NULL; its default is set by Django, not by the database)"),
    ("migrations.AddIndex(model_name='call', index=models.Index(fields=['created'], name='call_created_idx'))",
     "adds index call_created_idx on call"),
    ("migrations.RunPython(forwards)", "runs forwards (RunPython) without reverse_code"),
    ("migrations.RunPython(forwards, reverse_code=migrations.RunPython.noop)",
     "runs forwards (RunPython) with a no-op reverse"),
    ("migrations.RunSQL('CREATE VIEW v AS SELECT 1', '')", "runs SQL (RunSQL) with a no-op reverse"),
    ("migrations.RunSQL(['DELETE FROM calls_tag'], reverse_sql=[''])",
     "runs SQL (RunSQL) that deletes data: DELETE FROM"),
    ("project_operations.AddField(model_name='call', name='note', field=models.TextField(null=True))",
     "runs project_operations.AddField, an operation rewind does not know"),
])
def test_operation_summary(tmp_path, source, summary):
    assert _classify(tmp_path, source).operations[0].summary == summary


def test_operations_built_at_run_time_are_unknown(tmp_path):
    path = tmp_path / "0002_built.py"
    path.write_text("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
                    "    dependencies = [('calls', '0001_initial')]\n    operations = build_operations()\n")
    migration = read_migration(str(path), "calls", "0002_built")
    assert [(op.kind, op.reversible, op.line) for op in migration.operations] == [("unknown", False, 6)]


# --- the fixture releases, as makemigrations wrote them ---------------------------------

#: app.name: (kinds, compatible, reversible, destructive)
FIXTURE_MIGRATIONS = {
    "accounts.0001_initial": (["additive"], True, True, False),
    "accounts.0002_agent_customer_nickname": (["additive"], True, True, False),
    "accounts.0003_customer_email_db_column": (["state"], True, True, False),
    "accounts.0004_remove_customer_phone": (["destructive"], False, True, True),
    "calls.0001_initial": (["additive"], True, True, False),
    "calls.0002_agent_tag_note": (["additive"], True, True, False),
    "calls.0003_call_priority": (["additive"], False, True, False),
    "calls.0004_backfill_priority": (["data"], False, True, False),
    "calls.0005_subject_length_priority_check": (["alter", "additive"], False, True, False),
    "calls.0006_seed_urgent_tag": (["data"], False, True, False),
    "calls.0007_rename_note_call_memo": (["rename"], False, True, False),
    "calls.0008_drop_created_index_priority_check": (["alter"], False, True, False),
    "calls.0009_normalise_subjects": (["data"], False, False, False),
    "calls.0010_trim_subjects_sql": (["data"], False, False, False),
    "calls.0011_delete_tag": (["destructive"], False, True, True),
}


@pytest.mark.parametrize("label", sorted(FIXTURE_MIGRATIONS))
def test_fixture_migration_classification(label):
    migration = Release(R3).nodes[tuple(label.split("."))]
    assert (migration.kinds, migration.compatible, migration.reversible, migration.destructive) == \
        FIXTURE_MIGRATIONS[label]


def test_release_graph_follows_dependencies():
    release = Release(R3)
    assert sorted("%s.%s" % key for key in release.nodes) == sorted(FIXTURE_MIGRATIONS)
    position = {key: index for index, key in enumerate(release.order)}
    for key, parents in release.parents.items():
        assert all(position[parent] < position[key] for parent in parents), key
    assert ("accounts", "0002_agent_customer_nickname") in release.parents[("calls", "0002_agent_tag_note")]
    assert release.leaves("calls") == ["0011_delete_tag"] and release.roots("accounts") == ["0001_initial"]


def test_virtualenvs_and_hidden_folders_are_not_apps(tmp_path):
    root = tmp_path / "release"
    shutil.copytree(R1, root)
    _write(root / "vendor" / "site-packages" / "django" / "contrib" / "auth" / "migrations" / "0001_initial.py",
           ["migrations.DeleteModel(name='User')"])
    _write(root / "venv" / "src" / "payments" / "migrations" / "0001_initial.py", ["migrations.DeleteModel(name='P')"])
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    _write(root / ".git" / "old" / "migrations" / "0001_initial.py", ["migrations.DeleteModel(name='X')"])
    assert Release(str(root)).apps == ["accounts", "calls"]


# --- files the planner cannot read ------------------------------------------------------

@pytest.mark.parametrize("source, message", [
    ("from django.db import migrations\n\nclass Migration(migrations.Migration)\n    operations = []\n",
     "0002_bad.py line 3: not valid Python"),
    ("from django.db import migrations\n\nOPERATIONS = []\n", "0002_bad.py: no class Migration"),
    ("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = DEPS\n",
     "0002_bad.py line 5: dependencies is computed"),
    ("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
     "    dependencies = [('calls', '0001_initial'), 'calls.0001']\n",
     "0002_bad.py line 5: an entry of dependencies is not an ('app', 'migration') pair"),
    ("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
     "    dependencies = [('calls', '0001_missing')]\n", "depends on calls.0001_missing, which is not in the release"),
])
def test_unreadable_release_fails_naming_file_and_line(tmp_path, source, message):
    root = tmp_path / "release"
    shutil.copytree(R1, root)
    (root / "calls" / "migrations" / "0002_bad.py").write_text(source)
    with pytest.raises(MigrationError, match=re.escape(message)):
        Release(str(root))


def test_circular_dependencies_fail(tmp_path):
    _write(tmp_path / "calls" / "migrations" / "0001_a.py", [], [("calls", "0002_b")])
    _write(tmp_path / "calls" / "migrations" / "0002_b.py", [], [("calls", "0001_a")])
    with pytest.raises(MigrationError, match="circular dependency .*: calls.0001_a, calls.0002_b"):
        Release(str(tmp_path))


# --- decisions on the fixture deltas ----------------------------------------------------

R2_APPLIED = {tuple(label.split(".")) for label in FIXTURE_MIGRATIONS} - {
    ("accounts", "0004_remove_customer_phone"), ("calls", "0008_drop_created_index_priority_check"),
    ("calls", "0009_normalise_subjects"), ("calls", "0010_trim_subjects_sql"), ("calls", "0011_delete_tag")}
R2_TO_R1_DECIDING = ["calls.0003_call_priority", "calls.0004_backfill_priority",
                     "calls.0005_subject_length_priority_check", "calls.0006_seed_urgent_tag",
                     "calls.0007_rename_note_call_memo"]
R3_DECIDING = ["accounts.0004_remove_customer_phone", "calls.0009_normalise_subjects", "calls.0010_trim_subjects_sql",
               "calls.0011_delete_tag"]
TO_R1 = [["manage.py", "migrate", "calls", "0001_initial"], ["manage.py", "migrate", "accounts", "0001_initial"]]

#: (current, target, plan keyword arguments, choice, migrations deciding it, commands)
DECISIONS = [
    (R2, R1, {}, "reverse", R2_TO_R1_DECIDING, TO_R1),
    (R2, R1, {"allow_code_only": False}, "reverse", R2_TO_R1_DECIDING, TO_R1),
    (R2, R1, {"apps": ["calls"]}, "reverse", R2_TO_R1_DECIDING, TO_R1[:1]),
    (R3, R2, {}, "restore", R3_DECIDING, []),
    (R3, R1, {}, "restore", R3_DECIDING, []),
    (R1, R1, {}, "code_only", ["no"], []),
    (R2, R1, {"apps": ["accounts"]}, "code_only",
     ["accounts.0002_agent_customer_nickname", "accounts.0003_customer_email_db_column"], []),
    # the deployment's migrate stopped after calls.0008: only that one is undone
    (R3, R2, {"applied": R2_APPLIED | {("calls", "0008_drop_created_index_priority_check")}}, "reverse",
     ["calls.0008_drop_created_index_priority_check"],
     [["manage.py", "migrate", "calls", "0007_rename_note_call_memo"]]),
    # migrate accounts 0001_initial would unapply calls.0002 and calls.0005 too, which depend on accounts.0002
    (R2, R1, {"apps": ["accounts"], "allow_code_only": False}, "restore", ["the"], []),
    (R3, R2, {"applied": R2_APPLIED | {("calls", "0012_hotfix")}}, "restore", ["calls.0012_hotfix"], []),
]


@pytest.mark.parametrize("current, target, kwargs, choice, deciding, commands", DECISIONS, ids=[
    "%s-to-%s-%s" % (os.path.basename(c), os.path.basename(t), "-".join(sorted(k)) or "defaults")
    for c, t, k, *_ in DECISIONS])
def test_decision(current, target, kwargs, choice, deciding, commands):
    result = plan(current, target, **kwargs)
    assert (result["choice"], _labels(result["reasons"]), result["commands"]) == (choice, deciding, commands)


def test_reverse_plan_of_r2_to_r1():
    result = plan(R2, R1)
    assert [m.label for m in result["migrations"]] == [
        "accounts.0002_agent_customer_nickname", "accounts.0003_customer_email_db_column", "calls.0002_agent_tag_note",
        "calls.0003_call_priority", "calls.0004_backfill_priority", "calls.0005_subject_length_priority_check",
        "calls.0006_seed_urgent_tag", "calls.0007_rename_note_call_memo"]
    assert result["targets"] == {"calls": "0001_initial", "accounts": "0001_initial"}
    assert result["project_dir"] == R2 and result["warnings"] == []
    assert result["reasons"][0] == (
        "calls.0003_call_priority adds field call.priority (NOT NULL; its default is set by Django, not by the "
        "database): the old code does not set it, so its inserts would fail — reverse it")


def test_restore_reasons_say_what_was_lost():
    reasons = plan(R3, R2)["reasons"]
    assert reasons[0] == ("accounts.0004_remove_customer_phone removes field customer.phone: the data is gone; "
                          "reversing would bring back an empty column — restore the pre-deploy backup")
    assert reasons[1] == ("calls.0009_normalise_subjects runs normalise_subjects (RunPython) without reverse_code: "
                          "Django cannot reverse it (IrreversibleError), and what it changed is only in the backup "
                          "— restore the pre-deploy backup")


def test_unapplied_migrations_are_left_out_with_a_warning():
    result = plan(R3, R2, applied=R2_APPLIED | {("calls", "0008_drop_created_index_priority_check")})
    assert [m.label for m in result["migrations"]] == ["calls.0008_drop_created_index_priority_check"]
    assert _labels(result["warnings"]) == ["accounts.0004_remove_customer_phone", "calls.0009_normalise_subjects",
                                           "calls.0010_trim_subjects_sql", "calls.0011_delete_tag"]
    assert "failed halfway on MySQL" in result["warnings"][0]


def test_an_app_left_out_is_named():
    reasons = plan(R2, R1, apps=["accounts"], allow_code_only=False)["reasons"]
    assert reasons == ["the migrate commands would also unapply calls.0002_agent_tag_note, calls.0003_call_priority, "
                       "calls.0004_backfill_priority, calls.0005_subject_length_priority_check, "
                       "calls.0006_seed_urgent_tag, calls.0007_rename_note_call_memo, of apps left out of apps — "
                       "restore the pre-deploy backup"]


def test_forced_reverse_refuses_an_irreversible_migration():
    with pytest.raises(MigrationError) as failure:
        plan(R3, R2, mode="reverse")
    message = str(failure.value)
    assert message.startswith("refusing to reverse: calls.0009_normalise_subjects (%s line 21) runs normalise_subjects "
                              "(RunPython) without reverse_code" % os.path.join(R3, "calls", "migrations",
                                                                               "0009_normalise_subjects.py"))
    assert "calls.0010_trim_subjects_sql" in message and "accounts.0004" not in message
    assert message.endswith("Restore the pre-deploy backup instead (mode=auto chooses it).")


def test_forced_reverse_of_a_destructive_migration_warns(tmp_path):
    current = tmp_path / "current"
    shutil.copytree(R2, current)
    shutil.copy(os.path.join(R3, "accounts", "migrations", "0004_remove_customer_phone.py"),
                current / "accounts" / "migrations")
    assert plan(str(current), R2)["choice"] == "restore"
    result = plan(str(current), R2, mode="reverse")
    assert result["choice"] == "reverse"
    assert result["commands"] == [["manage.py", "migrate", "accounts", "0003_customer_email_db_column"]]
    assert result["warnings"] == ["reversing anyway (mode=reverse): accounts.0004_remove_customer_phone removes field "
                                  "customer.phone: the data is gone; reversing would bring back an empty column — "
                                  "only the pre-deploy backup has it"]




# --- histories that are not a straight line ---------------------------------------------

INITIAL = ["migrations.CreateModel(name='Call', fields=[('id', models.BigAutoField(primary_key=True))])"]
NULLABLE = "migrations.AddField(model_name='call', name='note', field=models.TextField(null=True))"
RENAME = "migrations.RenameField(model_name='call', old_name='note', new_name='memo')"


def test_squashed_migration_without_its_parts(tmp_path):
    target = _release(tmp_path / "target", [INITIAL, [NULLABLE], [RENAME]])
    squashed = tmp_path / "current" / "calls" / "migrations"
    _write(squashed / "0001_squashed_0003_step.py", INITIAL + [NULLABLE, RENAME])
    text = (squashed / "0001_squashed_0003_step.py").read_text()
    (squashed / "0001_squashed_0003_step.py").write_text(text.replace(
        "    dependencies", "    replaces = [('calls', '0001_step'), ('calls', '0002_step'), ('calls', '0003_step')]\n"
        "    dependencies"))
    _write(squashed / "0004_step.py", [RENAME.replace("'note', new_name='memo'", "'memo', new_name='text'")],
           [("calls", "0003_step")])
    result = plan(str(tmp_path / "current"), target)
    assert [m.label for m in result["migrations"]] == ["calls.0004_step"]
    assert result["targets"] == {"calls": "0003_step"}
    assert result["commands"] == [["manage.py", "migrate", "calls", "0001_squashed_0003_step"]]


def test_squashed_migration_beside_its_parts(tmp_path):
    target = _release(tmp_path / "target", [INITIAL, [NULLABLE]])
    current = tmp_path / "current"
    _release(current, [INITIAL, [NULLABLE], [RENAME]])
    squash = _write(current / "calls" / "migrations" / "0001_squashed_0002_step.py", INITIAL + [NULLABLE])
    squash.write_text(squash.read_text().replace(
        "    dependencies", "    replaces = [('calls', '0001_step'), ('calls', '0002_step')]\n    dependencies"))
    result = plan(str(current), target)
    assert [m.label for m in result["migrations"]] == ["calls.0003_step"]
    assert result["commands"] == [["manage.py", "migrate", "calls", "0002_step"]]


def test_diverged_histories_cannot_be_reversed(tmp_path):
    """The target release was built from a hotfix branch the current release never merged."""
    target = _release(tmp_path / "target", [INITIAL])
    _write(tmp_path / "target" / "calls" / "migrations" / "0002_hotfix.py", [NULLABLE], [("calls", "0001_step")])
    current = _release(tmp_path / "current", [INITIAL, [RENAME]])
    result = plan(current, target)
    assert (result["choice"], [m.label for m in result["migrations"]]) == ("restore", ["calls.0002_step"])
    assert result["reasons"] == ["calls.0002_hotfix, where the target release ends, is not in the current release: "
                                 "the migration histories diverged, and the current code cannot migrate to it — "
                                 "restore the pre-deploy backup"]


def test_target_not_applied_is_not_migrated_forwards(tmp_path):
    target = _release(tmp_path / "target", [INITIAL, [NULLABLE]])
    current = _release(tmp_path / "current", [INITIAL, [NULLABLE], [RENAME]])
    result = plan(current, target, applied={("calls", "0001_step"), ("calls", "0003_step")})
    assert result["reasons"] == ["calls.0002_step, where the target release ends, is not applied in the database, "
                                 "so `migrate calls 0002_step` would apply migrations instead of reversing them — "
                                 "restore the pre-deploy backup"]


def test_forced_reverse_undoes_what_the_old_code_could_run_on(tmp_path):
    target = _release(tmp_path / "target", [INITIAL])
    current = _release(tmp_path / "current", [INITIAL, [NULLABLE]])
    assert plan(current, target)["choice"] == "code_only"
    result = plan(current, target, mode="reverse")
    assert (result["choice"], result["commands"]) == ("reverse", [["manage.py", "migrate", "calls", "0001_step"]])


# --- the property: an irreversible migration never yields reverse -----------------------

EXPECTED = dict(OPERATIONS)
REVERSIBLE = [source for source, (_, _, _, reversible, destructive) in OPERATIONS if reversible and not destructive]
IRREVERSIBLE = [source for source, (_, _, _, reversible, _) in OPERATIONS if not reversible]


@settings(max_examples=60, deadline=None)
@given(chain=st.lists(st.lists(st.sampled_from(REVERSIBLE), min_size=1, max_size=3), max_size=4),
       irreversible=st.sampled_from(IRREVERSIBLE), position=st.integers(min_value=0, max_value=4),
       allow_code_only=st.booleans())
def test_an_irreversible_migration_never_yields_reverse(chain, irreversible, position, allow_code_only):
    """Any chain of reversible, non-destructive migrations is code_only or reverse; one irreversible more: restore."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        target = _release(tmp / "target", [INITIAL])
        reversible_only = _release(tmp / "reversible", [INITIAL] + chain)
        chosen = plan(reversible_only, target, allow_code_only=allow_code_only)["choice"]
        compatible = all(EXPECTED[source][2] for operations in chain for source in operations)
        assert chosen == ("code_only" if compatible and allow_code_only or not chain else "reverse")

        position = min(position, len(chain))
        chain.insert(position, [irreversible])
        current = _release(tmp / "current", [INITIAL] + chain)
        assert plan(current, target, allow_code_only=allow_code_only)["choice"] == "restore"
        with pytest.raises(MigrationError, match="refusing to reverse: calls.%04d_step " % (position + 2)):
            plan(current, target, mode="reverse")


# --- the module -------------------------------------------------------------------------

def test_module_plans_r2_to_r1(run):
    applied = [{"id": i, "app": app, "name": name, "applied": "2026-11-24 02:47:03"}
               for i, (app, name) in enumerate(sorted(R2_APPLIED))]
    result, warnings = run(migration_plan, current=R2, target=R1, applied=applied)
    assert (result["changed"], result["choice"], result["commands"], warnings) == (False, "reverse", TO_R1, [])
    assert result["targets"] == {"calls": "0001_initial", "accounts": "0001_initial"}
    first = result["migrations"][0]
    assert first == {"app": "accounts", "name": "0002_agent_customer_nickname",
                     "path": "accounts/migrations/0002_agent_customer_nickname.py", "kinds": ["additive"],
                     "compatible": True, "reversible": True, "destructive": False, "operations": [
                         {"op": "CreateModel", "kind": "additive", "summary": "creates model Agent",
                          "note": "the old code does not use it", "compatible": True, "reversible": True,
                          "destructive": False, "line": 13},
                         {"op": "AddField", "kind": "additive", "summary": "adds field customer.nickname (nullable)",
                          "note": "the old code does not use it", "compatible": True, "reversible": True,
                          "destructive": False, "line": 20}]}
    checked, _ = run(migration_plan, check_mode=True, current=R2, target=R1, applied=applied)
    assert checked == result


def test_module_warns_about_unapplied_migrations(run):
    applied = ["%s.%s" % key for key in R2_APPLIED] + ["calls.0008_drop_created_index_priority_check"]
    result, warnings = run(migration_plan, current=R3, target=R2, applied=applied)
    assert result["choice"] == "reverse" and len(warnings) == 4
    assert warnings[0].startswith("accounts.0004_remove_customer_phone is in the current release but not applied")


@pytest.mark.parametrize("args, message", [
    ({"mode": "reverse"}, "REWIND-E-INPUT: refusing to reverse: calls.0009_normalise_subjects ("),
    ({"apps": ["billing"]}, "REWIND-E-INPUT: no app billing with migrations in "),
    ({"applied": ["calls"]}, "REWIND-E-INPUT: applied[0] is 'calls'; give 'app.migration' strings or rows"),
    ({"applied": [{"app": "calls"}]}, "REWIND-E-INPUT: applied[0] is {'app': 'calls'}"),
    ({"target": "/nonexistent/releases/r0"}, "REWIND-E-INPUT: release /nonexistent/releases/r0 is not a directory"),
])
def test_module_fails_with_input_errors(run, args, message):
    result, _ = run(migration_plan, **dict(dict(current=R3, target=R2), **args))
    assert result["failed"] and result["msg"].startswith(message), result["msg"]


def test_module_names_the_unparsable_file(run, tmp_path):
    current = tmp_path / "current"
    shutil.copytree(R2, current)
    broken = current / "calls" / "migrations" / "0008_broken.py"
    broken.write_text("class Migration(:\n")
    result, _ = run(migration_plan, current=str(current), target=R1)
    assert result["msg"] == ("REWIND-E-INPUT: %s line 1: not valid Python (invalid syntax), so Django cannot load it "
                             "either; fix the file in the release" % broken)


def test_parse_applied_accepts_strings_and_rows():
    assert parse_applied(["calls.0001_initial", {"app": "accounts", "name": "0001_initial", "id": 3}]) == {
        ("calls", "0001_initial"), ("accounts", "0001_initial")}


# --- Django itself agrees (needs Django: requirements-dev.txt) -------------------------------

def _manage(release, db, *args, check=True):
    """Run manage.py of release on the SQLite file db; return the completed process."""
    env = dict(os.environ, REWIND_TEST_DB=str(db), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=release, env=env, check=check,
                          capture_output=True, text=True)


def _schema(db):
    """Every table's columns (name, type, not null), its indexes, and the django_migrations rows."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        schema = {t: (sorted(r[1:4] for r in conn.execute("PRAGMA table_info(%s)" % t)),
                      sorted(r[1] for r in conn.execute("PRAGMA index_list(%s)" % t))) for t in tables}
        schema["rows"] = sorted(conn.execute("SELECT app, name FROM django_migrations"))
    return schema


@pytest.fixture
def releases(tmp_path):
    pytest.importorskip("django")
    for release in ("r1", "r2", "r3"):
        shutil.copytree(PROJECT / release, tmp_path / release)
    return tmp_path


def test_django_reverses_with_the_planned_commands(releases):
    db = releases / "live.sqlite3"
    _manage(releases / "r1", db, "migrate")
    _manage(releases / "r2", db, "migrate")
    result = plan(str(releases / "r2"), str(releases / "r1"))
    assert result["choice"] == "reverse"
    for command in result["commands"]:
        _manage(result["project_dir"], db, *command[1:])
    assert _manage(releases / "r1", db, "migrate", "--check", check=False).returncode == 0
    fresh = releases / "fresh.sqlite3"
    _manage(releases / "r1", fresh, "migrate")
    assert _schema(db) == _schema(fresh)


def test_django_refuses_what_the_planner_refuses(releases):
    db = releases / "live.sqlite3"
    _manage(releases / "r3", db, "migrate")
    with pytest.raises(MigrationError, match="refusing to reverse: calls.0009"):
        plan(str(releases / "r3"), str(releases / "r2"), mode="reverse")
    django = _manage(releases / "r3", db, "migrate", "calls", "0007_rename_note_call_memo", check=False)
    assert django.returncode != 0 and "IrreversibleError" in django.stderr


def test_django_loader_agrees_on_reversibility_and_leaves(releases):
    script = ("import json, django; django.setup()\n"
              "from django.db.migrations.loader import MigrationLoader\n"
              "loader = MigrationLoader(None)\n"
              "print(json.dumps({'reversible': {'%s.%s' % k: all(op.reversible for op in m.operations)\n"
              "                                 for k, m in loader.disk_migrations.items()},\n"
              "                  'leaves': sorted('%s.%s' % k for k in loader.graph.leaf_nodes())}))\n")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="callcentersite.settings", REWIND_TEST_DB=str(releases / "x.db"))
    django = json.loads(subprocess.run([sys.executable, "-c", script], cwd=releases / "r3", env=env, check=True,
                                       capture_output=True, text=True).stdout)
    release = Release(str(releases / "r3"))
    assert django["reversible"] == {m.label: m.reversible for m in release.nodes.values()}
    assert django["leaves"] == sorted("%s.%s" % (app, release.leaves(app)[0]) for app in release.apps)
