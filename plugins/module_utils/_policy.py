# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision policies: the rollback plans' rules as data, found, merged and validated.

A policy is a YAML file, ``policies/<name>.yml`` in the collection or any file a user names;
``policies/README.md`` documents the schema. A policy may ``extends:`` another: every top-level
section it defines replaces the parent's, the rest is inherited.

:func:`load_policy` reads (on the controller: PyYAML is imported only there), resolves
``extends`` and validates. :func:`validate_policy` checks and normalizes data already read:
durations become seconds, levels their numbers, single values lists. It is idempotent, so a
normalized policy can travel to a module and be validated there again. Every error names the
file, the key and the reason.
"""

from __future__ import annotations

import os

from ansible_collections.rewind.rollback.plugins.module_utils._levels import LevelError, resolve_level
from ansible_collections.rewind.rollback.plugins.module_utils._signals import (
    METRICS, SignalError, check_metric, parse_duration)

#: mildest first: the index is the rank.
SEVERITIES = ("low", "medium", "high", "critical")
ISSUE_TYPES = ("functional", "performance", "security", "data", "outage", "ui")
#: what a rule may decide, mildest first: the index is the rank.
DECISIONS = ("monitor", "fix_forward", "rollback_if_fix_exceeds", "rollback_now")
ROLLBACK_DECISIONS = ("rollback_if_fix_exceeds", "rollback_now")

#: the policies shipped with the collection: <collection root>/policies.
POLICY_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies"))

_SECTIONS = ("description", "plan", "evidence", "loop_guard", "level_by_issue_type", "triggers", "matrix",
             "escalation", "services", "default_service")
_REQUIRED = ("description", "evidence", "loop_guard", "level_by_issue_type", "triggers", "matrix")
# Set by the loader, accepted back so that validation is idempotent.
_LOADER_KEYS = ("name", "source", "extends")


class PolicyError(ValueError):
    """A policy that cannot be used: the message names the file, the key and the reason."""


class _Checker:
    """Validation helpers that report ``<source>: <key path>: <reason>``."""

    def __init__(self, source):
        self.source = source

    def fail(self, where, reason):
        raise PolicyError("%s: %s: %s" % (self.source, where, reason))

    def mapping(self, value, where, allowed, required=()):
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping, got %s" % _kind(value))
        unknown = sorted(set(value) - set(allowed), key=str)
        if unknown:
            self.fail("%s.%s" % (where, unknown[0]) if where else unknown[0],
                      "unknown key; accepted here: %s" % ", ".join(allowed))
        for key in required:
            if key not in value:
                self.fail(where or key, "%r is required" % key if where else "required")
        return value

    def text(self, value, where):
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "expected a non-empty string, got %r" % (value,))
        return value

    def number(self, value, where, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, "expected a number, got %r" % (value,))
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(where, "%r is out of range %s..%s" % (value, _bound(low), _bound(high)))
        return value

    def integer(self, value, where, low):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(where, "expected a whole number of at least %d, got %r" % (low, value))
        return value

    def duration(self, value, where):
        try:
            return parse_duration(value, where)
        except SignalError as exc:
            self.fail(where, str(exc).split(": ", 1)[1])

    def choice(self, value, where, accepted):
        if value not in accepted:
            self.fail(where, "unknown value %r; accepted: %s" % (value, ", ".join(accepted)))
        return value

    def choices(self, value, where, accepted):
        values = value if isinstance(value, list) else [value]
        if not values:
            self.fail(where, "expected at least one of: %s" % ", ".join(accepted))
        return [self.choice(item, "%s[%d]" % (where, i) if isinstance(value, list) else where, accepted)
                for i, item in enumerate(values)]

    def level(self, value, where):
        try:
            return resolve_level(value)["number"]
        except LevelError as exc:
            self.fail(where, str(exc))


def _kind(value):
    return "nothing" if value is None else type(value).__name__


def _bound(value):
    return "" if value is None else "%g" % value


# --- sections -------------------------------------------------------------------------------

def _evidence(chk, value):
    chk.mapping(value, "evidence", ("min_samples", "max_gap"), ("min_samples", "max_gap"))
    return {"min_samples": chk.integer(value["min_samples"], "evidence.min_samples", 1),
            "max_gap": chk.duration(value["max_gap"], "evidence.max_gap")}


def _loop_guard(chk, value):
    chk.mapping(value, "loop_guard", ("max_automatic", "within"), ("max_automatic", "within"))
    return {"max_automatic": chk.integer(value["max_automatic"], "loop_guard.max_automatic", 0),
            "within": chk.duration(value["within"], "loop_guard.within")}


def _level_by_issue_type(chk, value):
    chk.mapping(value, "level_by_issue_type", ISSUE_TYPES, ISSUE_TYPES)
    return {issue: chk.level(value[issue], "level_by_issue_type.%s" % issue) for issue in ISSUE_TYPES}


def _outcome(chk, item, where, decisions, range_ok):
    """decision, fix_deadline, and the level (``level``, or ``levels: [low, high]`` in the matrix)."""
    out = {"decision": chk.choice(item.get("decision", "rollback_now"), where + ".decision", decisions)}
    rollback = out["decision"] in ROLLBACK_DECISIONS
    if out["decision"] == "rollback_if_fix_exceeds":
        if "fix_deadline" not in item:
            chk.fail(where, "'fix_deadline' is required with decision rollback_if_fix_exceeds")
        out["fix_deadline"] = chk.duration(item["fix_deadline"], where + ".fix_deadline")
    elif "fix_deadline" in item:
        chk.fail(where + ".fix_deadline", "only meaningful with decision rollback_if_fix_exceeds")
    given = [key for key in ("level", "levels") if key in item]
    if not rollback:
        if given:
            chk.fail("%s.%s" % (where, given[0]), "only meaningful with a rollback decision")
        return out
    if not given:
        chk.fail(where, "a rollback decision needs %s" % ("'level' or 'levels'" if range_ok else "'level'"))
    if "levels" in item and not range_ok:
        chk.fail(where + ".levels", "a trigger rolls back at one 'level'")
    if len(given) > 1:
        chk.fail(where, "give either 'level' or 'levels', not both")
    if "level" in item:
        low = high = chk.level(item["level"], where + ".level")
    else:
        levels = item["levels"]
        if not isinstance(levels, list) or len(levels) != 2:
            chk.fail(where + ".levels", "expected [lowest, highest], got %r" % (levels,))
        low, high = (chk.level(lvl, "%s.levels[%d]" % (where, i)) for i, lvl in enumerate(levels))
        if low > high:
            chk.fail(where + ".levels", "the lowest level %d is above the highest %d" % (low, high))
    out["levels"] = [low, high]
    return out


_METRIC_TRIGGER_KEYS = ("id", "description", "metric", "above", "below", "for", "consecutive", "severity",
                        "decision", "fix_deadline", "level", "levels")
_INCIDENT_TRIGGER_KEYS = ("id", "description", "incident", "decision", "fix_deadline", "level", "levels")


def _trigger(chk, item, where):
    if not isinstance(item, dict):
        chk.fail(where, "expected a mapping, got %s" % _kind(item))
    if ("metric" in item) == ("incident" in item):
        chk.fail(where, "a trigger watches either a 'metric' or an 'incident'")
    if "metric" in item:
        chk.mapping(item, where, _METRIC_TRIGGER_KEYS, ("id", "description", "metric", "severity"))
    else:
        chk.mapping(item, where, _INCIDENT_TRIGGER_KEYS, ("id", "description", "incident"))
    out = {"id": chk.text(item["id"], where + ".id"), "description": chk.text(item["description"],
                                                                              where + ".description")}
    out.update(_outcome(chk, item, where, ROLLBACK_DECISIONS, range_ok=False))
    out["level"] = out.pop("levels")[0]
    if "incident" in item:
        out["incident"] = _incident_match(chk, item["incident"], where + ".incident", ("issue_type", "min_severity"))
        return out
    try:
        out["metric"] = check_metric(item["metric"], where + ".metric")
    except SignalError as exc:
        chk.fail(where + ".metric", str(exc).split(": ", 1)[1])
    worse = METRICS[out["metric"].split(":", 1)[0]]["worse"]
    wanted = "above" if worse == "higher" else "below"
    given = [key for key in ("above", "below") if key in item]
    if given != [wanted]:
        chk.fail(where, "%s is bad when %s, so the rule needs '%s: <threshold>'%s"
                 % (out["metric"], worse, wanted, "" if not given else ", not '%s'" % "' and '".join(given)))
    out[wanted] = chk.number(item[wanted], "%s.%s" % (where, wanted))
    if ("for" in item) == ("consecutive" in item):
        chk.fail(where, "give either 'for: <duration>' (held for a window) or 'consecutive: <count>'")
    if "for" in item:
        out["for"] = chk.duration(item["for"], where + ".for")
    else:
        out["consecutive"] = chk.integer(item["consecutive"], where + ".consecutive", 2)
    out["severity"] = chk.choice(item["severity"], where + ".severity", SEVERITIES)
    return out


def _incident_match(chk, value, where, keys):
    chk.mapping(value, where, keys, ("min_severity",))
    out = {"min_severity": chk.choice(value["min_severity"], where + ".min_severity", SEVERITIES),
           "issue_type": None}
    if value.get("issue_type") is not None:
        out["issue_type"] = chk.choices(value["issue_type"], where + ".issue_type", ISSUE_TYPES)
    if value.get("min_impact_pct") is not None:
        out["min_impact_pct"] = chk.number(value["min_impact_pct"], where + ".min_impact_pct", 0, 100)
    return out


_ROW_KEYS = ("description", "issue_type", "min_severity", "min_impact_pct", "decision", "fix_deadline", "level",
             "levels")


def _row(chk, item, where):
    chk.mapping(item, where, _ROW_KEYS, ("description", "min_severity", "decision"))
    out = {"description": chk.text(item["description"], where + ".description")}
    out.update(_incident_match(chk, {k: item[k] for k in ("issue_type", "min_severity", "min_impact_pct")
                                     if k in item}, where, ("issue_type", "min_severity", "min_impact_pct")))
    out.update(_outcome(chk, item, where, DECISIONS, range_ok=True))
    return out


def _triggers(chk, value):
    if not isinstance(value, list):
        chk.fail("triggers", "expected a list, got %s" % _kind(value))
    out = [_trigger(chk, item, "triggers[%d]" % i) for i, item in enumerate(value)]
    seen = set()
    for i, trig in enumerate(out):
        if trig["id"] in seen:
            chk.fail("triggers[%d].id" % i, "duplicate id %r" % trig["id"])
        seen.add(trig["id"])
    return out


def _matrix(chk, value):
    if not isinstance(value, list):
        chk.fail("matrix", "expected a list, got %s" % _kind(value))
    return [_row(chk, item, "matrix[%d]" % i) for i, item in enumerate(value)]


def _escalation(chk, value):
    chk.mapping(value, "escalation", SEVERITIES)
    out = {}
    for severity, step in value.items():
        where = "escalation.%s" % severity
        chk.mapping(step, where, ("respond_within", "notify"), ("respond_within", "notify"))
        notify = step["notify"]
        if not isinstance(notify, list) or not notify:
            chk.fail(where + ".notify", "expected a non-empty list of channels, got %r" % (notify,))
        out[severity] = {"respond_within": chk.duration(step["respond_within"], where + ".respond_within"),
                         "notify": [chk.text(ch, "%s.notify[%d]" % (where, i)) for i, ch in enumerate(notify)]}
    return out


def _services(chk, value):
    if not isinstance(value, dict) or not value:
        chk.fail("services", "expected a mapping of service name to {rto, rpo}, got %r" % (value,))
    out = {}
    for name, item in value.items():
        where = "services.%s" % name
        chk.mapping(item, where, ("rto", "rpo", "priority"), ("rto", "rpo"))
        out[name] = {"rto": chk.duration(item["rto"], where + ".rto"),
                     "rpo": chk.duration(item["rpo"], where + ".rpo")}
        if "priority" in item:
            out[name]["priority"] = chk.choice(item["priority"], where + ".priority", SEVERITIES)
    return out


_SECTION_CHECKS = {
    "description": lambda chk, v: chk.text(v, "description"),
    "plan": lambda chk, v: chk.text(v, "plan"),
    "evidence": _evidence,
    "loop_guard": _loop_guard,
    "level_by_issue_type": _level_by_issue_type,
    "triggers": _triggers,
    "matrix": _matrix,
    "escalation": _escalation,
    "services": _services,
    "default_service": lambda chk, v: chk.text(v, "default_service"),
}


def validate_policy(data, source, partial=False):
    """Check ``data`` (one policy, already read) and return it normalized.

    ``source`` names it in errors (the file path). ``partial`` checks only the sections present,
    for a file that ``extends`` another.
    """
    chk = _Checker(source)
    chk.mapping(data, "", _SECTIONS + _LOADER_KEYS, () if partial else _REQUIRED)
    out = {key: _SECTION_CHECKS[key](chk, data[key]) for key in _SECTIONS if key in data}
    for key in _LOADER_KEYS:
        if data.get(key) is not None:
            out[key] = chk.text(data[key], key)
    if partial:
        return out
    if not out["triggers"] and not out["matrix"]:
        chk.fail("triggers", "a policy needs at least one trigger or matrix row")
    if "default_service" in out and out["default_service"] not in out.get("services", {}):
        chk.fail("default_service", "%r is not one of the services: %s"
                 % (out["default_service"], ", ".join(out.get("services", {})) or "(none defined)"))
    return out


# --- finding and reading files ----------------------------------------------------------------

def is_policy_path(ref):
    """Is ``ref`` a path to a policy file rather than a policy name?"""
    return os.sep in ref or ref.endswith((".yml", ".yaml"))


def available_policies(search_paths=()):
    """Names of the policies in ``search_paths`` and the collection's ``policies/``."""
    names = set()
    for directory in list(search_paths) + [POLICY_DIR]:
        if os.path.isdir(directory):
            names.update(os.path.splitext(f)[0] for f in os.listdir(directory) if f.endswith((".yml", ".yaml")))
    return sorted(names)


def find_policy(ref, search_paths=()):
    """The file of a policy given by name (looked up in ``search_paths``, then the collection's
    ``policies/``) or by path (absolute, or relative to the working directory)."""
    if not isinstance(ref, str) or not ref.strip():
        raise PolicyError("policy: expected a policy name or a path to a policy file, got %r" % (ref,))
    if is_policy_path(ref):
        path = os.path.abspath(os.path.expanduser(ref))
        if not os.path.isfile(path):
            raise PolicyError("%s: policy file not found" % path)
        return path
    for directory in list(search_paths) + [POLICY_DIR]:
        for ext in (".yml", ".yaml"):
            path = os.path.join(directory, ref + ext)
            if os.path.isfile(path):
                return path
    raise PolicyError("unknown policy %r; available: %s (or give the path of a policy file)"
                      % (ref, ", ".join(available_policies(search_paths)) or "(none)"))


def _read_yaml(path):
    import yaml  # only where files are read: on the controller

    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise PolicyError("%s: cannot read the policy: %s" % (path, exc.strerror))
    except yaml.YAMLError as exc:
        raise PolicyError("%s: not valid YAML: %s" % (path, exc))
    if not isinstance(data, dict):
        raise PolicyError("%s: a policy is a mapping of sections, got %s" % (path, _kind(data)))
    return data


def read_policy(ref, search_paths=(), _chain=()):
    """Read a policy, resolve ``extends`` (each file validated on its own first) and return the merged
    raw data with ``name`` and ``source`` set."""
    path = find_policy(ref, search_paths)
    if path in _chain:
        raise PolicyError("%s: extends: circular: %s" % (path, " -> ".join(_chain + (path,))))
    data = _read_yaml(path)
    validate_policy(data, path, partial=True)
    name = data.get("name") or os.path.splitext(os.path.basename(path))[0]
    parent = data.get("extends")
    if parent is not None:
        if is_policy_path(parent) and not os.path.isabs(parent):
            parent = os.path.join(os.path.dirname(path), parent)
        try:
            base = read_policy(parent, search_paths, _chain + (path,))
        except PolicyError as exc:
            raise PolicyError("%s: extends: %s" % (path, exc))
        merged = {key: value for key, value in base.items() if key not in ("name", "description", "plan")}
        merged.update(data)
        data = merged
    data.update(name=name, source=path)
    return data


def load_policy(ref, search_paths=()):
    """Find, read, merge and validate a policy; the result is what :func:`decide` takes."""
    data = read_policy(ref, search_paths)
    return validate_policy(data, data["source"])
