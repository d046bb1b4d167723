# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX / Automation Controller: the job templates and surveys as code, and the execution environment.

The survey validator follows AWX's own rules: the API's JobTemplateSurveySpec._validate_spec_data
(awx/api/views/__init__.py), which checks a survey when it is saved, and
SurveyJobTemplateMixin._survey_element_validation (awx/main/models/mixins.py), which checks the
answers at launch - here applied to each default, so every default is an answer AWX accepts.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.rewind.rollback.plugins.module_utils import _levels

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": (float, int)}
CONTRACT_PLAYBOOKS = {"playbooks/rollback.yml", "playbooks/undo.yml", "playbooks/decide.yml", "playbooks/prepare.yml"}
ROLLBACK_VARS = {"level", "tier", "rewind_reason", "rewind_backup_id", "emergency"}


class SurveyError(ValueError):
    pass


def _choices(value):
    if isinstance(value, str):
        return [c for c in value.splitlines() if c.strip()]
    return list(value)


def _check_answer(q, value):
    """AWX's launch-time check of one answer (mixins._survey_element_validation)."""
    qtype, low, high = q["type"], q.get("min"), q.get("max")
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            raise SurveyError("Value %s for '%s' expected to be a string." % (value, q["variable"]))
        if low not in ("", None) and len(value) < int(low):
            raise SurveyError("'%s' value %s is too small (length is %d must be at least %s)."
                              % (q["variable"], value, len(value), low))
        if high not in ("", None) and len(value) > int(high):
            raise SurveyError("'%s' value %s is too large (must be no more than %s)." % (q["variable"], value, high))
    elif qtype in ("integer", "float"):
        if low not in ("", None) and value < low or high not in ("", None) and value > high:
            raise SurveyError("'%s' value %s is out of range [%s, %s]." % (q["variable"], value, low, high))
    elif qtype == "multiselect":
        bad = [v for v in value if v not in _choices(q["choices"])]
        if bad:
            raise SurveyError("Value %s for '%s' expected to be one of %s." % (bad[0], q["variable"], q["choices"]))
    elif qtype == "multiplechoice" and value not in _choices(q["choices"]):
        raise SurveyError("Value %s for '%s' expected to be one of %s." % (value, q["variable"], q["choices"]))


def validate_survey(spec):
    """Raise SurveyError with AWX's message when AWX would refuse ``spec``."""
    for field, kind, label in (("name", str, "string"), ("description", str, "string"), ("spec", list, "list of items")):
        if field not in spec:
            raise SurveyError("Field '%s' is missing from survey spec." % field)
        if not isinstance(spec[field], kind):
            raise SurveyError("Expected %s for field '%s', received %s type." % (label, field, type(spec[field]).__name__))
    if not spec["spec"]:
        raise SurveyError("'spec' doesn't contain any items.")
    variables = set()
    for idx, q in enumerate(spec["spec"]):
        if not isinstance(q, dict):
            raise SurveyError("Survey question %d is not a json object." % idx)
        for field in ("type", "question_name", "variable", "required"):
            if field not in q:
                raise SurveyError("'%s' missing from survey question %d" % (field, idx))
            kind, label = (bool, "boolean") if field == "required" else (str, "string")
            if not isinstance(q[field], kind):
                raise SurveyError("'%s' in survey question %d expected to be %s." % (field, idx, label))
        if q["variable"] in variables:
            raise SurveyError("'variable' '%s' duplicated in survey question %d." % (q["variable"], idx))
        variables.add(q["variable"])
        qtype = q["type"]
        if qtype not in SURVEY_TYPES:
            raise SurveyError("'%s' in survey question %d is not one of '%s' allowed question types."
                              % (qtype, idx, ", ".join(SURVEY_TYPES)))
        if "default" in q and q["default"] != "" and not isinstance(q["default"], SURVEY_TYPES[qtype]):
            raise SurveyError("Default value %s in survey question %d expected to be %s."
                              % (q["default"], idx, qtype if qtype in ("integer", "float") else "string"))
        for key in ("min", "max"):
            if q.get(key) is not None and not isinstance(q[key], int):
                raise SurveyError("The %s limit in survey question %d expected to be integer." % (key, idx))
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in q:
                raise SurveyError("Survey question %d of type %s must specify choices." % (idx, qtype))
            if "default" in q and q["default"] != "":
                defaults = _choices(q["default"]) if isinstance(q["default"], str) else q["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    raise SurveyError("Multiple Choice (Single Select) can only have one default value.")
                if any(d not in _choices(q["choices"]) for d in defaults):
                    raise SurveyError("Default choice must be answered from the choices listed.")
        if isinstance(q.get("default"), str) and q["default"].startswith("$encrypted$"):
            raise SurveyError("$encrypted$ is a reserved keyword, may not be used for new default in position %d." % idx)
        if "default" in q and not (q["default"] == "" and not q["required"]):
            _check_answer(q, q["default"])


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "awx" / "job_templates.yml").read_text())


@pytest.fixture(scope="module")
def templates(config):
    return {t["name"]: t for t in config["rewind_awx_job_templates"]}


def test_every_survey_is_one_awx_accepts(templates):
    for name, template in templates.items():
        assert template["survey_enabled"] is True, name
        validate_survey(template["survey_spec"])


GOOD = {"type": "multiplechoice", "question_name": "Level", "variable": "level", "required": True,
        "choices": ["code", "full"], "default": "code"}


@pytest.mark.parametrize("change, message", [
    ({"spec": []}, "'spec' doesn't contain any items."),
    ({"name": None}, "Expected string for field 'name', received NoneType type."),
    ({"spec": [dict(GOOD, required="yes")]}, "'required' in survey question 0 expected to be boolean."),
    ({"spec": [GOOD, dict(GOOD, question_name="Again")]}, "'variable' 'level' duplicated in survey question 1."),
    ({"spec": [dict(GOOD, type="dropdown")]}, "'dropdown' in survey question 0 is not one of"),
    ({"spec": [{k: v for k, v in GOOD.items() if k != "choices"}]}, "must specify choices."),
    ({"spec": [dict(GOOD, default="partial")]}, "Default choice must be answered from the choices listed."),
    ({"spec": [dict(GOOD, default="code\nfull")]}, "can only have one default value."),
    ({"spec": [dict(GOOD, type="integer", default="3")]}, "expected to be integer."),
    ({"spec": [dict(GOOD, type="text", min="3")]}, "The min limit in survey question 0 expected to be integer."),
    ({"spec": [dict(GOOD, type="text", default="ab", min=3)]}, "is too small"),
    ({"spec": [dict(GOOD, type="text", default="$encrypted$")]}, "$encrypted$ is a reserved keyword"),
])
def test_the_validator_refuses_what_awx_refuses(change, message):
    spec = dict({"name": "n", "description": "d", "spec": [GOOD]}, **change)
    with pytest.raises(SurveyError) as exc:
        validate_survey(spec)
    assert message in str(exc.value)


def test_surveys_ask_what_the_playbooks_read(templates):
    variables = {q["variable"]: q for t in templates.values() for q in t["survey_spec"]["spec"]}
    assert ROLLBACK_VARS <= set(variables)
    assert {q["variable"] for q in templates["rewind - roll back"]["survey_spec"]["spec"]} == ROLLBACK_VARS
    levels = variables["level"]["choices"]
    assert levels == ["auto"] + [lvl["name"] for lvl in _levels.LEVELS]
    assert all(_levels.resolve_level(name) for name in levels[1:])
    assert variables["emergency"]["default"] == "false"


def test_templates_use_only_job_template_options(templates):
    awx = Path(yaml.__file__).parents[1] / "ansible_collections" / "awx" / "awx" / "plugins" / "modules" / "job_template.py"
    if not awx.exists():
        pytest.skip("the awx.awx collection is not installed")
    doc = next(node.value.value for node in ast.parse(awx.read_text()).body
               if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION")
    options = yaml.safe_load(doc)["options"]
    for name, template in templates.items():
        assert set(template) <= set(options), (name, set(template) - set(options))
        assert template["job_type"] in options["job_type"]["choices"]
        assert template["playbook"] in CONTRACT_PLAYBOOKS
    assert templates["rewind - plan a rollback"]["job_type"] == "check"
    assert templates["rewind - roll back"]["allow_simultaneous"] is False


def test_configure_playbook_passes_ansible_syntax_check():
    proc = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", "awx/configure.yml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections")))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- execution environment ----------------------------------------------------------------------
def _pins(path):
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_ee_pins_match_the_project_pins():
    project = _pins(ROOT / "requirements.txt")
    for name, version in _pins(ROOT / "meta" / "ee-requirements.txt").items():
        assert project[name] == version, name
    ee = yaml.safe_load((ROOT / "awx" / "execution-environment.yml").read_text())["dependencies"]
    assert ee["ansible_core"]["package_pip"] == "ansible==%s" % project["ansible"]
    assert ee["ansible_runner"]["package_pip"] == "ansible-runner==%s" % project["ansible-runner"]


def test_ee_installs_this_version_of_the_collection():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    collections = yaml.safe_load((ROOT / "meta" / "ee-collections.yml").read_text())["collections"]
    assert collections == [{"name": "collections/rewind-rollback-%s.tar.gz" % version, "type": "file"}]


def _require_builder():
    # Pinned in requirements-dev.txt: missing is a broken environment, never a reason to skip.
    assert (BIN / "ansible-builder").exists(), "ansible-builder is not installed: pip install -r requirements-dev.txt"


@pytest.fixture(scope="module")
def ee_context(tmp_path_factory):
    """ansible-builder create on a copy of the EE definition, with the collection built beside it."""
    _require_builder()
    tmp = tmp_path_factory.mktemp("ee")
    for name in ("awx/execution-environment.yml", "meta/ee-requirements.txt", "meta/bindep.txt",
                 "meta/ee-collections.yml"):
        (tmp / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp / name)
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path",
                            str(tmp / "awx")], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "awx/execution-environment.yml",
                           "-c", "context", "--output-filename", "Containerfile"],
                          cwd=tmp, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp / "context"


def test_ansible_builder_creates_the_build_context(ee_context):
    containerfile = (ee_context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="localhost/rewind-ee-base:latest"' in containerfile
    assert "ansible==12.3.0" in containerfile and "ansible-runner==2.4.3" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "PyMySQL==1.2.4" in (ee_context / "_build" / "requirements.txt").read_text()
    assert "openssh-client [platform:dpkg]" in (ee_context / "_build" / "bindep.txt").read_text()
    galaxy = yaml.safe_load((ee_context / "_build" / "requirements.yml").read_text())
    tarball = galaxy["collections"][0]["name"]
    assert (ee_context / "_build" / tarball).is_file(), "the collection tarball is not in the build context"


def test_the_collection_declares_its_dependencies_for_other_images(tmp_path):
    """ansible-builder introspects every installed collection's meta/execution-environment.yml."""
    _require_builder()
    link = tmp_path / "ansible_collections" / "rewind" / "rollback"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT, target_is_directory=True)
    proc = subprocess.run([str(BIN / "ansible-builder"), "introspect", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])
    assert any(re.match(r"PyMySQL==1\.2\.4", line) for line in found["python"]), found
    assert any(line.startswith("openssh-client [platform:dpkg]") for line in found["system"]), found
