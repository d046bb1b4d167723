# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration planner on the demo call-centre project's releases (playbooks/demo/django).

molecule/django_gunicorn deploys these releases on a real host and rolls each back; here the
same migration files are planned in milliseconds, so a change to the planner or to a release
that would change a case's decision shows up in the unit tests first. Each release is built as
the demo's commit-release.sh builds it: project/ with the release's layers copied over it.
"""

import shutil
from pathlib import Path

import pytest
import yaml

from ansible_collections.rewind.rollback.plugins.module_utils._migrations import (
    MigrationError, Release, plan)

DEMO = Path(__file__).resolve().parents[2] / "playbooks" / "demo" / "django"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    built = {}
    for release in sorted(p.name for p in (DEMO / "releases").iterdir()):
        layers = yaml.safe_load((DEMO / "releases" / release / "release.yml").read_text())["layers"]
        dest = root / release
        shutil.copytree(DEMO / "project", dest)
        for layer in layers:
            shutil.copytree(DEMO / "releases" / layer / "files", dest, dirs_exist_ok=True)
        built[release] = str(dest)
    return built


@pytest.mark.parametrize("release, label, kinds, compatible, reversible, destructive", [
    # r2: CreateModel, AddField (NOT NULL, Django-side default), AddField (M2M), AddIndex
    ("r2", "calls.0002_priority_tags", ["additive"], False, True, False),
    ("r3", "calls.0003_remove_customer_phone", ["destructive"], False, True, True),
    ("r4", "calls.0002_normalise_subjects", ["data"], False, False, False),
])
def test_each_kind_of_demo_migration(releases, release, label, kinds, compatible, reversible, destructive):
    migration = Release(releases[release]).nodes[tuple(label.split("."))]
    assert (migration.kinds, migration.compatible, migration.reversible, migration.destructive) == \
        (kinds, compatible, reversible, destructive)


# (release, allow_code_only, choice, start of a reason); allow_code_only=False is what
# levels database and full pass (django_gunicorn_keep_compatible_schema=false), True level code.
CASES = [
    ("r2", False, "reverse", "calls.0002_priority_tags adds field call.priority"),   # case (a)
    ("r2", True, "reverse", "calls.0002_priority_tags adds field call.priority"),    # level code refused
    ("r3", False, "restore", "calls.0003_remove_customer_phone removes field customer.phone: the data is gone"),
    ("r4", False, "restore", "calls.0002_normalise_subjects runs normalise_subjects (RunPython) without "
                             "reverse_code: Django cannot reverse it (IrreversibleError)"),               # case (d)
    ("r5", False, "code_only", "no migration of the planned apps was applied after the target release"),  # (c)
]


@pytest.mark.parametrize("release, allow_code_only, choice, reason", CASES,
                         ids=["%s-%s" % (c[0], "code" if c[1] else "full") for c in CASES])
def test_the_plan_of_each_case(releases, release, allow_code_only, choice, reason):
    result = plan(releases[release], releases["r1"], allow_code_only=allow_code_only)
    assert result["choice"] == choice
    assert any(r.startswith(reason) for r in result["reasons"]), result["reasons"]
    assert (result["migrations"] == []) == (release == "r5")
    if choice == "reverse":
        assert result["commands"] == [["manage.py", "migrate", "calls", "0001_initial"]]
        assert result["project_dir"] == releases[release], "reversed with the live release's code"
    else:
        assert result["commands"] == []


def test_the_irreversible_runpython_is_never_reversed(releases):
    with pytest.raises(MigrationError, match="refusing to reverse: calls.0002_normalise_subjects"):
        plan(releases["r4"], releases["r1"], mode="reverse")
