# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policies: the plans' numbers as loaded, finding and extending files, and validation errors
that name the file, the key and the reason."""

import copy
import os

import pytest
import yaml

from ansible_collections.rewind.rollback.plugins.module_utils import _policy as pol

SHIPPED = ("generic", "laravel", "chatbot", "wordpress", "django")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def shipped():
    return {name: pol.load_policy(name) for name in SHIPPED}


def test_the_shipped_policies_are_found_in_the_collection():
    assert os.path.samefile(pol.POLICY_DIR, os.path.join(ROOT, "policies"))
    assert pol.available_policies() == sorted(SHIPPED)


# --- the plans' rules, as loaded ------------------------------------------------------------------
# (policy, trigger id) -> metric, side, threshold, window seconds or consecutive count, decision,
# fix deadline seconds, level. Written from the plans, not from the files, so a wrong number fails.

M, C = "for", "consecutive"
TRIGGERS = {
    ("generic", "error_rate"): ("error_rate_pct", "above", 10, M, 300, "rollback_now", None, 3),
    ("generic", "latency_p95"): ("latency_p95_ms", "above", 5000, M, 300, "rollback_now", None, 3),
    ("generic", "health_checks"): ("health_ok", "below", 1, C, 4, "rollback_now", None, 3),
    ("generic", "memory"): ("memory_pct", "above", 95, M, 60, "rollback_now", None, 3),
    ("generic", "db_pool_exhausted"): ("db_pool_exhausted", "above", 0, M, 60, "rollback_now", None, 3),
    ("laravel", "error_rate"): ("error_rate_pct", "above", 5, M, 600, "rollback_now", None, 3),
    ("laravel", "response_time"): ("latency_avg_ms", "above", 10000, M, 60, "rollback_now", None, 3),
    ("laravel", "availability"): ("availability_pct", "below", 95, M, 300, "rollback_now", None, 3),
    ("laravel", "memory"): ("memory_pct", "above", 90, M, 60, "rollback_now", None, 3),
    ("chatbot", "api_errors"): ("error_rate_pct", "above", 5, M, 300, "rollback_now", None, 3),
    ("chatbot", "service_down"): ("health_ok", "below", 1, C, 4, "rollback_now", None, 3),
    ("chatbot", "slow_critical_operations"): ("latency_p95_ms", "above", 3000, M, 300, "rollback_if_fix_exceeds",
                                              7200, 3),
    ("chatbot", "cpu"): ("cpu_pct", "above", 90, M, 300, "rollback_if_fix_exceeds", 7200, 3),
    ("chatbot", "memory"): ("memory_pct", "above", 90, M, 300, "rollback_if_fix_exceeds", 7200, 3),
    ("chatbot", "db_pool_exhausted"): ("db_pool_exhausted", "above", 0, M, 60, "rollback_if_fix_exceeds", 7200, 3),
    ("wordpress", "health_checks"): ("health_ok", "below", 1, C, 4, "rollback_now", None, 3),
    ("django", "health_checks"): ("health_ok", "below", 1, C, 4, "rollback_now", None, 3),
}
INCIDENT_TRIGGERS = {
    ("laravel", "database_corruption"): (["data"], "high", 4),
    ("wordpress", "deployment_failure"): (["functional", "outage"], "critical", 3),
    ("django", "critical_functionality"): (["functional", "outage"], "critical", 3),
    ("django", "security_vulnerability"): (["security"], "high", 3),
    ("django", "performance"): (["performance"], "high", 3),
    ("django", "database_corruption"): (["data"], "high", 4),
}


def _trigger(policy, trigger_id):
    return next(t for t in policy["triggers"] if t["id"] == trigger_id)


@pytest.mark.parametrize("key", sorted(TRIGGERS), ids=lambda key: "%s-%s" % key)
def test_metric_triggers(shipped, key):
    metric, side, threshold, kind, span, decision, deadline, level = TRIGGERS[key]
    trig = _trigger(shipped[key[0]], key[1])
    assert (trig["metric"], trig[side], trig[kind], trig["decision"], trig.get("fix_deadline"), trig["level"]) == \
        (metric, threshold, span, decision, deadline, level)


@pytest.mark.parametrize("key", sorted(INCIDENT_TRIGGERS), ids=lambda key: "%s-%s" % key)
def test_incident_triggers(shipped, key):
    issue_types, severity, level = INCIDENT_TRIGGERS[key]
    trig = _trigger(shipped[key[0]], key[1])
    assert (trig["incident"]["issue_type"], trig["incident"]["min_severity"], trig["decision"], trig["level"]) == \
        (issue_types, severity, "rollback_now", level)


def test_every_trigger_is_in_the_tables(shipped):
    listed = set(TRIGGERS) | set(INCIDENT_TRIGGERS)
    assert {(name, t["id"]) for name, p in shipped.items() for t in p["triggers"]} == listed


def test_generic_rto_rpo(shipped):
    services = shipped["generic"]["services"]
    assert {name: (s["rto"] / 60, s["rpo"] / 60) for name, s in services.items()} == {
        "core_api": (5, 1), "auth": (5, 1), "database": (15, 5), "file_storage": (30, 15), "analytics": (120, 60)}


def test_laravel_escalation(shipped):
    esc = shipped["laravel"]["escalation"]
    assert {sev: (e["respond_within"] / 60, e["notify"]) for sev, e in esc.items()} == {
        "critical": (5, ["phone", "sms", "email"]), "high": (15, ["phone", "email"]),
        "medium": (60, ["email"]), "low": (240, ["email"])}


def test_extends_inherits_the_sections_a_policy_does_not_define(shipped):
    generic = shipped["generic"]
    for name in ("laravel", "django"):
        assert shipped[name]["matrix"] == generic["matrix"] and shipped[name]["extends"] == "generic"
    for name in ("laravel", "chatbot", "wordpress", "django"):
        for key in ("services", "default_service", "evidence", "loop_guard", "level_by_issue_type"):
            assert shipped[name][key] == generic[key]
    assert shipped["chatbot"]["matrix"] != generic["matrix"] and "escalation" not in shipped["chatbot"]
    assert shipped["laravel"]["description"] != generic["description"]


@pytest.mark.parametrize("name", SHIPPED)
def test_validation_is_idempotent(shipped, name):
    again = pol.validate_policy(copy.deepcopy(shipped[name]), "again")
    assert again == shipped[name]


# --- finding and reading files ----------------------------------------------------------------------

def _write(directory, name, data):
    path = os.path.join(str(directory), name)
    with open(path, "w") as handle:
        handle.write(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def _raw(name="generic"):
    with open(os.path.join(pol.POLICY_DIR, name + ".yml")) as handle:
        return yaml.safe_load(handle)


def test_a_user_directory_comes_before_the_collection(tmp_path):
    mine = dict(_raw(), description="our own generic")
    _write(tmp_path, "generic.yml", mine)
    assert pol.load_policy("generic", [str(tmp_path)])["description"] == "our own generic"
    assert pol.load_policy("generic")["description"] != "our own generic"


def test_a_user_policy_extends_a_shipped_one_by_name_and_a_sibling_by_relative_path(tmp_path):
    _write(tmp_path, "shop.yml", {"extends": "laravel", "description": "shop", "matrix": []})
    path = _write(tmp_path, "shop-night.yml", {"extends": "shop.yml", "description": "shop at night",
                                               "evidence": {"min_samples": 5, "max_gap": "2m"}})
    policy = pol.load_policy(path)
    laravel = pol.load_policy("laravel")
    assert (policy["name"], policy["source"], policy["matrix"]) == ("shop-night", path, [])
    assert policy["triggers"] == laravel["triggers"] and policy["escalation"] == laravel["escalation"]
    assert policy["evidence"] == {"min_samples": 5, "max_gap": 120}


@pytest.mark.parametrize("ref, match", [
    ("larvel", "unknown policy 'larvel'; available: chatbot, django, generic, laravel, wordpress"),
    ("/nonexistent/policy.yml", "/nonexistent/policy.yml: policy file not found"),
    ("", "expected a policy name or a path"),
])
def test_unknown_policies(ref, match):
    with pytest.raises(pol.PolicyError, match=match):
        pol.load_policy(ref)


def test_circular_extends(tmp_path):
    _write(tmp_path, "a.yml", {"extends": "b", "description": "a"})
    _write(tmp_path, "b.yml", {"extends": "a", "description": "b"})
    with pytest.raises(pol.PolicyError, match=r"extends: circular: .*a\.yml -> .*b\.yml -> .*a\.yml"):
        pol.load_policy("a", [str(tmp_path)])


def test_an_error_in_the_parent_names_the_parent_file(tmp_path):
    _write(tmp_path, "base.yml", dict(_raw(), loop_guard={"max_automatic": 2, "within": "soon"}))
    child = _write(tmp_path, "child.yml", {"extends": "base", "description": "child"})
    with pytest.raises(pol.PolicyError) as err:
        pol.load_policy(child, [str(tmp_path)])
    assert str(err.value).startswith("%s: extends: %s: loop_guard.within: expected a duration"
                                     % (child, os.path.join(str(tmp_path), "base.yml")))


@pytest.mark.parametrize("text, match", [
    ("triggers: [", "not valid YAML"),
    ("- a list", "a policy is a mapping of sections, got list"),
    ("", "a policy is a mapping of sections, got nothing"),
])
def test_unreadable_files(tmp_path, text, match):
    path = _write(tmp_path, "bad.yml", text)
    with pytest.raises(pol.PolicyError, match="^%s: %s" % (path, match)):
        pol.load_policy(path)


# --- validation: file, key, reason ------------------------------------------------------------------

def _set(path, value):
    """A mutation of the generic policy's raw data: set the key at path (list of keys/indexes)."""
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return mutate


_DELETE = object()

INVALID = [
    (_set(["treshold"], 5), "treshold", "unknown key; accepted here: description, plan"),
    (_set(["evidence"], _DELETE), "evidence", "required"),
    (_set(["triggers"], {}), "triggers", "expected a list, got dict"),
    (_set(["triggers", 0, "metric"], "errors_pct"), "triggers[0].metric",
     "unknown metric 'errors_pct'; accepted: error_rate_pct, availability_pct"),
    (_set(["triggers", 0, "above"], "ten"), "triggers[0].above", "expected a number, got 'ten'"),
    (_set(["triggers", 0, "treshold"], 10), "triggers[0].treshold", "unknown key; accepted here: id, description"),
    (_set(["triggers", 0, "for"], "5 minutes"), "triggers[0].for", "expected a duration such as 30s, 5m or 2h"),
    (_set(["triggers", 0, "severity"], "urgent"), "triggers[0].severity",
     "unknown value 'urgent'; accepted: low, medium, high, critical"),
    (_set(["triggers", 0, "level"], "everything"), "triggers[0].level", "unknown rollback level 'everything'"),
    (_set(["triggers", 0, "level"], _DELETE), "triggers[0]", "a rollback decision needs 'level'"),
    (_set(["triggers", 0, "decision"], "fix_forward"), "triggers[0].decision",
     "unknown value 'fix_forward'; accepted: rollback_if_fix_exceeds, rollback_now"),
    (_set(["triggers", 0, "decision"], "rollback_if_fix_exceeds"), "triggers[0]",
     "'fix_deadline' is required with decision rollback_if_fix_exceeds"),
    (_set(["triggers", 0, "fix_deadline"], "1h"), "triggers[0].fix_deadline",
     "only meaningful with decision rollback_if_fix_exceeds"),
    (_set(["triggers", 0, "levels"], ["code", "full"]), "triggers[0].levels", "a trigger rolls back at one 'level'"),
    (_set(["matrix", 0, "level"], "code"), "matrix[0]", "give either 'level' or 'levels', not both"),
    (_set(["triggers", 1, "id"], "error_rate"), "triggers[1].id", "duplicate id 'error_rate'"),
    (_set(["triggers", 0, "below"], 10), "triggers[0]",
     "error_rate_pct is bad when higher, so the rule needs 'above: <threshold>', not 'above' and 'below'"),
    (_set(["triggers", 2, "above"], 0), "triggers[2]",
     "health_ok is bad when lower, so the rule needs 'below: <threshold>'"),
    (_set(["triggers", 0, "consecutive"], 3), "triggers[0]", "give either 'for: <duration>'"),
    (_set(["triggers", 2, "consecutive"], 1), "triggers[2].consecutive", "expected a whole number of at least 2"),
    (_set(["triggers", 0, "incident"], {"min_severity": "high"}), "triggers[0]",
     "a trigger watches either a 'metric' or an 'incident'"),
    (_set(["triggers", 0], "error_rate"), "triggers[0]", "expected a mapping, got str"),
    (_set(["matrix", 0, "min_impact_pct"], 150), "matrix[0].min_impact_pct", "150 is out of range 0..100"),
    (_set(["matrix", 0, "issue_type"], ["data", "bug"]), "matrix[0].issue_type[1]",
     "unknown value 'bug'; accepted: functional, performance, security, data, outage, ui"),
    (_set(["matrix", 0, "levels"], ["full", "code"]), "matrix[0].levels", "the lowest level 5 is above the highest 3"),
    (_set(["matrix", 0, "levels"], ["code"]), "matrix[0].levels", "expected [lowest, highest]"),
    (_set(["matrix", 3, "level"], "code"), "matrix[3].level", "only meaningful with a rollback decision"),
    (_set(["matrix", 0, "decision"], "inconclusive"), "matrix[0].decision", "unknown value 'inconclusive'"),
    (_set(["matrix", 0, "min_severity"], _DELETE), "matrix[0]", "'min_severity' is required"),
    (_set(["level_by_issue_type", "ui"], _DELETE), "level_by_issue_type", "'ui' is required"),
    (_set(["loop_guard", "max_automatic"], -1), "loop_guard.max_automatic", "expected a whole number of at least 0"),
    (_set(["evidence", "min_samples"], True), "evidence.min_samples", "expected a whole number of at least 1"),
    (_set(["services", "core_api", "rto"], "fast"), "services.core_api.rto", "expected a duration"),
    (_set(["default_service"], "payments"), "default_service",
     "'payments' is not one of the services: analytics, auth, core_api"),
    (_set(["escalation"], {"urgent": {}}), "escalation.urgent", "unknown key; accepted here: low, medium"),
    (_set(["escalation"], {"high": {"respond_within": "15m", "notify": []}}), "escalation.high.notify",
     "expected a non-empty list of channels"),
]


@pytest.mark.parametrize("mutate, key, reason", INVALID, ids=[k for _, k, _ in INVALID])
def test_a_bad_policy_fails_with_file_key_and_reason(tmp_path, mutate, key, reason):
    data = _raw()
    mutate(data)
    path = _write(tmp_path, "bad.yml", data)
    with pytest.raises(pol.PolicyError) as err:
        pol.load_policy(path)
    assert str(err.value).startswith("%s: %s: %s" % (path, key, reason)), str(err.value)


def test_a_policy_needs_a_rule(tmp_path):
    path = _write(tmp_path, "empty.yml", dict(_raw(), triggers=[], matrix=[]))
    with pytest.raises(pol.PolicyError, match="triggers: a policy needs at least one trigger or matrix row"):
        pol.load_policy(path)
