# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decision engine: whether to roll back, how far, and why.

:func:`decide` takes a validated policy (``_policy``), the signals (metric name ->
``[[unix_ts, value], ...]``), an optional incident, the time to judge at and the release history,
and returns one decision with its level, deadline, the triggers it judged and the reasons in
sentences.

How the parts combine, so that worse signals never give a milder decision or a lower level:

- every trigger that fires and every matrix row that applies gives an *outcome* (a decision,
  a level, a fix deadline). Triggers and rows are up-sets: a row applies from a severity and an
  impact upwards, a trigger fires when its metric is on the bad side of its threshold;
- a known time to fix settles ``rollback_if_fix_exceeds``: longer than the deadline is
  ``rollback_now``, otherwise ``fix_forward``;
- the most drastic outcome decides (``monitor`` < ``fix_forward`` < ``rollback_if_fix_exceeds`` <
  ``rollback_now``), at the highest level any rollback outcome asks for, by the earliest deadline;
- a trigger without enough data is ``inconclusive``: it never fires, and when nothing calls for a
  rollback the decision is ``inconclusive`` rather than a reassuring ``monitor``;
- the loop guard then may refuse an *automatic* ``rollback_now``: ``rollback`` in the result is
  false and ``blocked_by`` says why. The decision itself stays what the evidence says.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

import datetime

from ansible_collections.rewind.rollback.plugins.module_utils._levels import LEVELS, level_label
from ansible_collections.rewind.rollback.plugins.module_utils._policy import (
    DECISIONS, ISSUE_TYPES, ROLLBACK_DECISIONS, SEVERITIES)
from ansible_collections.rewind.rollback.plugins.module_utils._releases import current_from_ledger, previous_good
from ansible_collections.rewind.rollback.plugins.module_utils._signals import (
    CLEAR, FIRED, INCONCLUSIVE, bad_when, format_duration, held_consecutive, held_for, normalize_signals,
    series_for)

NOT_OBSERVED = "not_observed"
INCIDENT_KEYS = ("issue_type", "severity", "impact_pct", "time_to_fix_min")
HISTORY_KEYS = ("releases", "current", "target", "rollbacks")

#: the options of the decide module, shared by the module and its action plugin (which alone reads
#: policy and policy_paths, and passes the policy's data as _policy_data).
ARGUMENT_SPEC = dict(
    policy=dict(type="str", default="generic"),
    policy_paths=dict(type="list", elements="path", default=[]),
    signals=dict(type="dict", default={}),
    incident=dict(type="dict", options=dict(
        issue_type=dict(type="str", required=True, choices=list(ISSUE_TYPES)),
        severity=dict(type="str", required=True, choices=list(reversed(SEVERITIES))),
        impact_pct=dict(type="float"),
        time_to_fix_min=dict(type="float"),
    )),
    history=dict(type="dict", options=dict(
        releases=dict(type="list", elements="dict"),
        current=dict(type="str"),
        target=dict(type="str"),
        rollbacks=dict(type="list", elements="dict"),
    )),
    service=dict(type="str"),
    now=dict(type="float"),
)


class DecisionError(ValueError):
    """Bad input to the decision: the message names the field and what is accepted."""


# --- inputs ------------------------------------------------------------------------------------

def _number(value, where, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecisionError("%s: expected a number, got %r" % (where, value))
    if (low is not None and value < low) or (high is not None and value > high):
        raise DecisionError("%s: %r is out of range %s..%s" % (where, value, low, "" if high is None else high))
    return value


def _unknown_keys(value, accepted, where):
    unknown = sorted(set(value) - set(accepted), key=str)
    if unknown:
        raise DecisionError("%s: unknown key %r; accepted: %s" % (where, unknown[0], ", ".join(accepted)))


def check_incident(incident):
    """The incident normalized, or None when none was given."""
    if not incident:
        return None
    if not isinstance(incident, dict):
        raise DecisionError("incident: expected a mapping with %s, got %r" % (", ".join(INCIDENT_KEYS), incident))
    _unknown_keys(incident, INCIDENT_KEYS, "incident")
    for key, accepted in (("issue_type", ISSUE_TYPES), ("severity", SEVERITIES)):
        if incident.get(key) not in accepted:
            raise DecisionError("incident.%s: %s %r; accepted: %s" % (
                key, "unknown value" if key in incident else "required, got", incident.get(key),
                ", ".join(accepted)))
    out = {"issue_type": incident["issue_type"], "severity": incident["severity"],
           "impact_pct": None, "time_to_fix_min": None}
    if incident.get("impact_pct") is not None:
        out["impact_pct"] = _number(incident["impact_pct"], "incident.impact_pct", 0, 100)
    if incident.get("time_to_fix_min") is not None:
        out["time_to_fix_min"] = _number(incident["time_to_fix_min"], "incident.time_to_fix_min", 0)
    return out


def _unix_time(value, where):
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DecisionError("%s: expected a unix time or an ISO-8601 time, got %r" % (where, value))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    return _number(value, where)


def check_history(history):
    """The release history normalized: ``releases`` (ledger entries with ``id`` and ``bad``),
    ``current``, ``target`` and ``rollbacks`` (the times of past automatic rollbacks)."""
    if not history:
        return None
    if not isinstance(history, dict):
        raise DecisionError("history: expected a mapping with %s, got %r" % (", ".join(HISTORY_KEYS), history))
    _unknown_keys(history, HISTORY_KEYS, "history")
    releases = history.get("releases") or []
    if not isinstance(releases, list):
        raise DecisionError("history.releases: expected the ledger's list of releases, got %r" % (releases,))
    for i, entry in enumerate(releases):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not isinstance(entry.get("bad", False), bool):
            raise DecisionError("history.releases[%d]: expected {id: <str>, bad: <bool>, ...}, got %r" % (i, entry))
    times = []
    for i, event in enumerate(history.get("rollbacks") or []):
        if not isinstance(event, dict) or "time" not in event:
            raise DecisionError("history.rollbacks[%d]: expected {time: <unix or ISO-8601 time>, "
                                "automatic: <bool>}, got %r" % (i, event))
        if event.get("automatic", True):
            times.append(_unix_time(event["time"], "history.rollbacks[%d].time" % i))
    for key in ("current", "target"):
        if history.get(key) is not None and not isinstance(history[key], str):
            raise DecisionError("history.%s: expected a release id, got %r" % (key, history[key]))
    return {"releases": [{"id": e["id"], "bad": e.get("bad", False)} for e in releases],
            "current": history.get("current"), "target": history.get("target"), "rollbacks": times}


# --- outcomes ----------------------------------------------------------------------------------

def _minutes(seconds):
    if seconds is None:
        return None
    minutes = seconds / 60.0
    return int(minutes) if minutes == int(minutes) else round(minutes, 2)


def consequence(decision, level=None, fix_deadline=None):
    """'roll back now at level 3 (code)', 'roll back at level 3 (code) if the fix takes more than 2h', …"""
    if decision == "rollback_now":
        return "roll back now at level %s" % level_label(level)
    if decision == "rollback_if_fix_exceeds":
        return "roll back at level %s if the fix takes more than %s" % (level_label(level),
                                                                        format_duration(fix_deadline))
    return {"fix_forward": "fix forward", "monitor": "monitor"}[decision]


def _outcome(source, rule, level, incident, text):
    """An outcome of a fired trigger or an applied row; a known time to fix settles a deadline."""
    decision, deadline = rule["decision"], rule.get("fix_deadline")
    ttf = incident and incident["time_to_fix_min"]
    if decision == "rollback_if_fix_exceeds" and ttf is not None:
        if ttf * 60 > deadline:
            text += " The fix is expected to take %g min, longer than %s" % (ttf, format_duration(deadline))
            decision = "rollback_now"
        else:
            text += " The fix is expected within %g min, inside %s" % (ttf, format_duration(deadline))
            decision = "fix_forward"
    if decision not in ROLLBACK_DECISIONS:
        level = None
    deadline = deadline if decision == "rollback_if_fix_exceeds" else None
    return {"source": source, "decision": decision, "level": level, "fix_deadline": deadline,
            "reason": "%s: %s." % (text, consequence(decision, level, deadline))}


def _applies(match, incident):
    """Does an incident meet a row's or an incident trigger's conditions? Unknown impact counts as met."""
    return ((match["issue_type"] is None or incident["issue_type"] in match["issue_type"])
            and SEVERITIES.index(incident["severity"]) >= SEVERITIES.index(match["min_severity"])
            and (incident["impact_pct"] is None or incident["impact_pct"] >= match.get("min_impact_pct", 0)))


def _incident_text(incident):
    parts = [incident["issue_type"], incident["severity"]]
    if incident["impact_pct"] is not None:
        parts.append("%g %% of users" % incident["impact_pct"])
    return "the incident (%s)" % ", ".join(parts)


def _match_text(match):
    parts = ["/".join(match["issue_type"]) if match["issue_type"] else "any issue",
             "%s or worse" % match["min_severity"]]
    if match.get("min_impact_pct"):
        parts.append("at least %g %% of users" % match["min_impact_pct"])
    return ", ".join(parts)


# --- triggers ----------------------------------------------------------------------------------

def _condition(trig, metric):
    side = "above" if "above" in trig else "below"
    return "%s %s %g" % (metric, ">" if side == "above" else "<", trig[side])


def _judge_metric(trig, series, now, evidence):
    report = {"id": trig["id"], "description": trig["description"], "metric": trig["metric"],
              "condition": _condition(trig, trig["metric"]), "threshold": trig.get("above", trig.get("below")),
              "window": format_duration(trig["for"]) if "for" in trig
              else "%d consecutive samples" % trig["consecutive"],
              "severity": trig["severity"], "observed": [], "note": "no samples given"}
    candidates = series_for(trig["metric"], series)
    if not candidates:
        report["state"] = NOT_OBSERVED
        return report
    is_bad = bad_when(trig.get("above"), trig.get("below"))
    verdicts = []
    for one in candidates:
        if "for" in trig:
            verdict = held_for(one, now, is_bad, trig["for"], evidence["max_gap"], evidence["min_samples"])
        else:
            verdict = held_consecutive(one, now, is_bad, trig["consecutive"], evidence["max_gap"])
        verdicts.append((verdict, one.name))
    order = (FIRED, INCONCLUSIVE, CLEAR)
    verdict, name = min(verdicts, key=lambda pair: order.index(pair[0]["state"]))
    report.update(verdict, metric=name, condition=_condition(trig, name))
    return report


def _judge_incident(trig, incident):
    report = {"id": trig["id"], "description": trig["description"], "metric": None,
              "condition": "incident: %s" % _match_text(trig["incident"]), "threshold": None, "window": None,
              "severity": incident["severity"] if incident else None, "observed": []}
    if incident is None:
        report.update(state=NOT_OBSERVED, note="no incident given")
    elif _applies(trig["incident"], incident):
        report.update(state=FIRED, observed=[incident], note="matches %s" % _incident_text(incident))
    else:
        report.update(state=CLEAR, observed=[incident], note="%s does not match" % _incident_text(incident))
    return report


def _fired_text(report):
    if report["metric"] is None:
        return "%s: %s" % (report["description"], report["note"])
    values = [value for _, value in report["observed"]]
    spread = "%g" % values[0] if min(values) == max(values) else "%g to %g" % (min(values), max(values))
    return "%s: %s held for %s (%d samples: %s)" % (
        report["description"], report["condition"], report["window"], len(values), spread)


# --- the loop guard ----------------------------------------------------------------------------

def loop_guard(guard, history, now):
    """``(blocked_by, notes)``: why an automatic rollback must not run, and what could not be checked."""
    if history is None:
        return [], ["Loop guard not checked: no release history given."]
    blocked, notes = [], []
    recent = [t for t in history["rollbacks"] if now - guard["within"] <= t <= now]
    if len(recent) >= guard["max_automatic"]:
        blocked.append("%d automatic rollbacks in the last %s (limit %d): a person decides the next one."
                       % (len(recent), format_duration(guard["within"]), guard["max_automatic"]))
    releases = {entry["id"]: entry for entry in history["releases"]}
    target = history["target"]
    if target is None and history["current"] is not None and history["current"] in releases:
        target = previous_good({"releases": history["releases"]}, history["current"])
        if target is None:
            blocked.append("No release before %s that is not marked bad: nowhere to roll back to automatically."
                           % history["current"])
    if target is not None and releases.get(target, {}).get("bad"):
        blocked.append("The target release %s is marked bad: rewind does not roll back to it automatically."
                       % target)
    elif target is None and not blocked:
        notes.append("Loop guard could not find the target release: give history.current (in the ledger) "
                     "or history.target.")
    return blocked, notes


def history_from_ledgers(ledgers):
    """The loop guard's ``history`` from the release ledgers of the hosts a rollback would touch.

    ``ledgers`` is a list of what ``rewind.rollback.release_info`` returns per host (``releases``,
    ``events`` and ``current``; a ledger file's own content, without ``current``, works too), in
    inventory order. One fleet history comes out, as strict as its strictest host:

    - ``releases``: every recorded release, in the order first seen, bad when any host marks it bad;
    - ``current``: the live release of the first host that has one (the canary's; the fleet
      preflight makes every host roll back to the same release);
    - ``rollbacks``: the ledgers' rollback events. A fleet rollback writes one event per host with
      the same note (its run id and reason), so events are counted once per release, previous
      release and note (or time, without a note). The ledger does not record whether a rollback
      was automatic, so every recorded rollback counts against the limit.
    """
    if not isinstance(ledgers, (list, tuple)):
        raise DecisionError("ledgers: expected a list of release ledgers (release_info results), got %r"
                            % (ledgers,))
    releases, order, current, rollbacks, seen = {}, [], None, [], set()
    for i, ledger in enumerate(ledgers):
        where = "ledgers[%d]" % i
        if not isinstance(ledger, dict) or not isinstance(ledger.get("releases", []), list) \
                or not isinstance(ledger.get("events", []), list):
            raise DecisionError("%s: expected a ledger with lists 'releases' and 'events', got %r" % (where, ledger))
        for j, entry in enumerate(ledger.get("releases", [])):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise DecisionError("%s.releases[%d]: expected {id: <str>, bad: <bool>, ...}, got %r"
                                    % (where, j, entry))
            if entry["id"] not in releases:
                order.append(entry["id"])
                releases[entry["id"]] = False
            releases[entry["id"]] = releases[entry["id"]] or entry.get("bad") is True
        for j, event in enumerate(ledger.get("events", [])):
            if not isinstance(event, dict) or any(key not in event for key in ("time", "action", "release")):
                raise DecisionError("%s.events[%d]: expected {time, action, release, previous, ...}, got %r"
                                    % (where, j, event))
            if event["action"] != "rollback":
                continue
            key = (event.get("release"), event.get("previous"), event.get("note") or event.get("time"))
            if key not in seen:
                seen.add(key)
                rollbacks.append({"time": _unix_time(event["time"], "%s.events[%d].time" % (where, j)),
                                  "automatic": True})
        live = ledger["current"] if "current" in ledger else current_from_ledger({"events": ledger.get("events", [])})
        if current is None and isinstance(live, str):
            current = live
    return {"releases": [{"id": rid, "bad": releases[rid]} for rid in order], "current": current,
            "rollbacks": rollbacks}


# --- the decision ------------------------------------------------------------------------------

def _judge_triggers(policy, series, incident, now):
    """The report of every trigger, and the outcomes of those that fired."""
    reports, outcomes = [], []
    for trig in policy["triggers"]:
        if "incident" in trig:
            report = _judge_incident(trig, incident)
        else:
            report = _judge_metric(trig, series, now, policy["evidence"])
        reports.append(report)
        if report["state"] == FIRED:
            outcomes.append(_outcome("trigger " + trig["id"], trig, trig["level"], incident, _fired_text(report)))
    return reports, outcomes


def _matrix_outcomes(policy, incident):
    """The outcomes of the matrix rows that apply to the incident, at its issue type's level within each range."""
    preferred = policy["level_by_issue_type"][incident["issue_type"]]
    outcomes = []
    for row in policy["matrix"]:
        if _applies(row, incident):
            low, high = row.get("levels", [None, None])
            level = None if low is None else min(max(preferred, low), high)
            outcomes.append(_outcome("matrix: " + row["description"], row, level, incident,
                                     "Matrix row '%s' (%s) applies to %s"
                                     % (row["description"], _match_text(row), _incident_text(incident))))
    return outcomes


def _evidence_reasons(reports, incident, matrix_outcomes):
    """Sentences on what was judged inconclusive, clear or not observed, and on the matrix."""
    reasons = ["%s: inconclusive on %s: %s." % (r["description"], r["metric"], r["note"])
               for r in reports if r["state"] == INCONCLUSIVE]
    clear = [r["id"] for r in reports if r["state"] == CLEAR]
    if clear:
        reasons.append("Within thresholds: %s." % ", ".join(clear))
    unseen = sorted({r["metric"] for r in reports if r["state"] == NOT_OBSERVED and r["metric"]})
    if unseen:
        reasons.append("Not observed (no samples given): %s." % ", ".join(unseen))
    if incident is not None and not matrix_outcomes:
        reasons.append("No matrix row applies to %s." % _incident_text(incident))
    return reasons


def decide(policy, signals=None, incident=None, now=None, history=None, service=None):
    """Decide. ``policy`` is validated (``_policy.load_policy``); ``now`` is a unix time."""
    now = _number(now, "now")
    series = normalize_signals(signals)
    incident = check_incident(incident)
    history = check_history(history)
    services = policy.get("services", {})
    service = service or policy.get("default_service")
    if service is not None and service not in services:
        raise DecisionError("service: unknown service %r in policy %s; accepted: %s"
                            % (service, policy.get("name"), ", ".join(services) or "(the policy defines none)"))

    reports, outcomes = _judge_triggers(policy, series, incident, now)
    matrix = _matrix_outcomes(policy, incident) if incident is not None else []
    outcomes += matrix
    decision = max((o["decision"] for o in outcomes), key=DECISIONS.index, default="monitor")
    rollbacks = [o for o in outcomes if o["decision"] in ROLLBACK_DECISIONS]
    level = max((o["level"] for o in rollbacks), default=None)
    deadline = min(o["fix_deadline"] for o in rollbacks if o["fix_deadline"] is not None) \
        if decision == "rollback_if_fix_exceeds" else None
    open_ = [r for r in reports if r["state"] == INCONCLUSIVE]
    judged = [r for r in reports if r["state"] in (FIRED, CLEAR)]
    if decision not in ROLLBACK_DECISIONS and (open_ or (not judged and incident is None)):
        decision = "inconclusive"

    reasons = [o["reason"] for o in outcomes] + _evidence_reasons(reports, incident, matrix)
    if decision == "inconclusive" and not open_:
        reasons.append("Nothing to decide on: no signal a trigger of policy %s watches, and no incident."
                       % policy.get("name"))
    blocked_by = []
    if decision == "rollback_now":
        blocked_by, notes = loop_guard(policy["loop_guard"], history, now)
        reasons += ["Loop guard: " + b for b in blocked_by] + notes
    rto = services.get(service)
    if level is not None and rto is not None and LEVELS[level - 1]["budget_min"] * 60 > rto["rto"]:
        reasons.append("Level %s is planned to take up to %d min, longer than the %s min RTO of %s."
                       % (level_label(level), LEVELS[level - 1]["budget_min"], _minutes(rto["rto"]), service))

    severities = [r["severity"] for r in reports if r["state"] == FIRED] + ([incident["severity"]] if incident else [])
    severity = max(severities, key=SEVERITIES.index, default=None)
    step = policy.get("escalation", {}).get(severity)
    result = {
        "policy": policy.get("name"),
        "decision": decision,
        "rollback": decision == "rollback_now" and not blocked_by,
        "level": level,
        "level_name": LEVELS[level - 1]["name"] if level else None,
        "fix_deadline_min": _minutes(deadline),
        "severity": severity,
        "triggers": reports,
        "reasons": reasons,
        "blocked_by": blocked_by,
        "escalation": None if step is None else {"severity": severity,
                                                 "respond_within_min": _minutes(step["respond_within"]),
                                                 "notify": step["notify"]},
        "service": service,
        "rto_min": _minutes(rto["rto"]) if rto else None,
        "rpo_min": _minutes(rto["rpo"]) if rto else None,
        "now": now,
    }
    result["summary"] = _summary(result, deadline, outcomes, open_)
    result["text"] = render_text(result)
    return result


def _summary(result, deadline, outcomes, open_):
    decision = result["decision"]
    if decision == "inconclusive":
        detail = "; ".join("%s: %s" % (r["metric"], r["note"]) for r in open_) or \
            "no signal a trigger watches and no incident"
        return "inconclusive: not enough data to decide (%s)" % detail
    if decision == "monitor":
        return "monitor: no trigger fired%s" % (" and no matrix row calls for more" if outcomes else "")
    deciding = "; ".join(o["source"] for o in outcomes if o["decision"] == decision)
    if decision == "fix_forward":
        return "fix_forward: no rollback (%s)" % deciding
    text = "%s: %s (%s)" % (decision, consequence(decision, result["level"], deadline), deciding)
    if result["blocked_by"]:
        text += ", but the loop guard blocks an automatic rollback: " + " ".join(result["blocked_by"])
    return text


def render_text(result):
    """The decision as lines a person reads at 3 a.m."""
    lines = ["Decision (policy %s): %s" % (result["policy"], result["summary"])]
    if result["escalation"]:
        esc = result["escalation"]
        lines.append("Escalation: %s - respond within %s min via %s"
                     % (esc["severity"], esc["respond_within_min"], ", ".join(esc["notify"])))
    if result["rto_min"] is not None:
        lines.append("RTO of %s: %s min, RPO %s min" % (result["service"], result["rto_min"], result["rpo_min"]))
    lines.append("Triggers:" if result["triggers"] else "Triggers: none in this policy")
    for report in result["triggers"]:
        lines.append("  %-12s %-22s %s%s" % (report["state"], report["id"], report["condition"],
                                            "" if report["window"] is None else " for " + report["window"]))
    lines.append("Reasons:")
    lines += ["  - " + reason for reason in result["reasons"]]
    return "\n".join(lines)
