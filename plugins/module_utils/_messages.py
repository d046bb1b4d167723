# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The communication templates of the rollback plans, rendered from a run's facts.

Four messages, after the plans' own templates:

- ``initiated``: the team's "ROLLBACK INITIATED" (time, reason, impact, level, ETA, lead);
- ``completed``: the team's "ROLLBACK COMPLETED" (duration, impact, current state, actions
  taken, services restarted, data restored, validation, next steps, contact);
- ``failed``: the same for a rollback that stopped, with where and why, and what to do next;
- ``customer``: the customer status message, "experiencing technical difficulties … expect
  normal service within …" while the rollback runs, "Temporary system issue - resolved" after.

:func:`build_context` turns the facts a run records (``rewind_plan`` and ``rewind_result`` per
host, the incident's details, timings) into one flat context; :func:`render` returns
``(subject, body)``. Used by the ``rewind.rollback.notify`` module and by the ``rewind`` CLI,
so a message sent and the copy kept in the run folder are the same text.

Two helpers every writer of a run's record shares (the timeline callback, the CLI's reports):
:func:`redact`, so nothing that looks like a secret is ever written for people, and
:func:`epoch`, which reads the ISO 8601 times the run records.

Pure Python, no Ansible imports; Python 3.8 compatible.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Mapping

from ansible_collections.rewind.rollback.plugins.module_utils._levels import LevelError, resolve_level

TEMPLATES = ("initiated", "completed", "failed", "customer")

NOT_RECORDED = "not recorded"



REDACTED = "********"
_SECRET_KEY = re.compile(r"password|passwd|secret|token|key", re.IGNORECASE)


def redact(value):
    """A copy of ``value`` where the value of every key that looks like a secret is ``********``.

    What a run writes for people (timeline, reports, messages) goes through this first.

    >>> redact({'db': {'user': 'app', 'password': 'hunter2'}, 'api_token': 'x'})
    {'db': {'user': 'app', 'password': '********'}, 'api_token': '********'}
    """
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def epoch(value):
    """Seconds since the epoch of an ISO 8601 time (naive means UTC) or a number; None if absent or unreadable.

    >>> epoch('1970-01-01T00:01:00Z')
    60.0
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        parsed = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_list(value):
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _first(plans, key):
    """The first non-empty value of ``key`` among the hosts' plans (sorted by host)."""
    for host in sorted(plans):
        value = (plans[host] or {}).get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _level_text(level):
    """'5 (full)' for any spelling of a level; the raw value when it is not a level."""
    if level in (None, ""):
        return NOT_RECORDED, None
    try:
        lvl = resolve_level(level)
    except LevelError:
        return str(level), None
    return "%d (%s)" % (lvl["number"], lvl["name"]), lvl


# What each rollback phase did, for "Actions Taken"; the other phases (lock, plan …) are bookkeeping.
PHASE_ACTIONS = (
    ("maintenance_on", "Put up the maintenance page"),
    ("stop", "Stopped the services"),
    ("restore", "Restored what the level covers (code, configuration, files, data)"),
    ("permissions", "Fixed ownership and permissions"),
    ("restart", "Restarted the services in order"),
    ("verify", "Verified the application"),
    ("maintenance_off", "Took the maintenance page down"),
)


def _duration(seconds):
    if seconds is None:
        return None
    if seconds < 60:
        return "%d seconds" % round(seconds)
    if seconds < 600:
        return "%.1f minutes" % (seconds / 60.0)
    return "%d minutes" % round(seconds / 60.0)


def _verify_line(check):
    if not isinstance(check, dict):
        return str(check)
    mark = "OK" if check.get("ok") else "FAILED"
    name = check.get("check") or check.get("name") or "check"
    detail = check.get("detail")
    return "%s %s%s" % (mark, name, " - %s" % detail if detail not in (None, "") else "")


def _per_host(results, key, fmt=str):
    """['host: item', …] from each host's rewind_result[key]; no host prefix for a single host."""
    lines = []
    for host in sorted(results):
        for item in _as_list((results[host] or {}).get(key)):
            text = fmt(item)
            lines.append(text if len(results) == 1 else "%s: %s" % (host, text))
    return lines


def build_context(plans=None, results=None, details=None, timings=None, status=None, hosts=None):
    """One flat context for the templates.

    :param plans: ``{host: rewind_plan}``; level, reason, tier, target release, run id.
    :param results: ``{host: rewind_result}``; restored items, services restarted, verify checks.
    :param details: the incident's details, all optional: ``title``, ``system``, ``impact``, ``lead``,
        ``contact``, ``company``, ``support``, ``level``, ``eta_minutes``, ``current_state``,
        ``next_steps`` (list), ``error``, ``what_happened``.
    :param timings: ``{started_at, ended_at, duration_s, downtime_s, failed_phase, failed_host, error,
        phases}``; ``phases`` lists the phases completed (see :data:`PHASE_ACTIONS`).
    :param status: ``running``, ``completed`` or ``failed``; decides the customer text.
    :param hosts: the hosts of the run; default the hosts of ``plans`` and ``results``.
    """
    plans = dict(plans or {})
    results = dict(results or {})
    details = dict(details or {})
    timings = dict(timings or {})

    level_text, level = _level_text(_first(plans, "level") or details.get("level"))
    tiers = sorted({str(p.get("tier")) for p in plans.values() if p and p.get("tier")})
    hosts = sorted(hosts if hosts is not None else set(plans) | set(results))
    system = details.get("system") or details.get("title") or ", ".join(tiers) or "the application"

    eta = details.get("eta_minutes")
    if eta in (None, "") and level is not None:
        eta = level["budget_min"]
    eta_text = "%s minutes" % eta if eta not in (None, "") else NOT_RECORDED

    checks = [c for host in sorted(results) for c in _as_list((results[host] or {}).get("verify"))]
    verified = bool(checks) and all(isinstance(c, dict) and c.get("ok") for c in checks)
    snapshots = _per_host(results, "snapshot") or _per_host(plans, "snapshot")

    if status is None:
        status = "completed" if results else "running"
    started_at = timings.get("started_at") or _first(plans, "started_at")
    duration_s = timings.get("duration_s")
    if duration_s is None and status != "running" and epoch(started_at) is not None:
        duration_s = (epoch(timings.get("ended_at")) or time.time()) - epoch(started_at)
    if details.get("current_state"):
        current_state = details["current_state"]
    elif status == "completed":
        current_state = ("running the previous release; all checks passed" if verified
                         else "rolled back; verification incomplete, see the validation results")
    elif status == "failed":
        current_state = "rollback stopped before it completed; the service may be degraded"
    else:
        current_state = "rollback in progress"

    actions = []
    if snapshots:
        actions.append("Saved what was live before the rollback (snapshot): %s" % "; ".join(snapshots))
    target = _first(plans, "target_release")
    if target:
        actions.append("Rolled back to release %s" % target)
    done = set(_as_list(timings.get("phases")))
    actions += [text for phase, text in PHASE_ACTIONS if phase in done]

    next_steps = _as_list(details.get("next_steps"))
    if not next_steps:
        if status == "failed":
            next_steps = ["Read the failure above and the run's report before retrying",
                          "Keep the maintenance page up until the service is verified"]
        else:
            next_steps = ["Find the root cause of the failed deployment",
                          "Tell users the service is restored",
                          "Plan the fix and the next deployment"]

    return {
        "run_id": _first(plans, "run_id") or timings.get("run_id") or NOT_RECORDED,
        "system": system,
        "status": status,
        "time": (started_at if status == "running" else timings.get("ended_at")) or _now_iso(),
        "started_at": started_at or NOT_RECORDED,
        "duration": _duration(duration_s) or NOT_RECORDED,
        "downtime": _duration(timings.get("downtime_s")) or NOT_RECORDED,
        "reason": _first(plans, "reason") or details.get("reason") or NOT_RECORDED,
        "impact": details.get("impact") or NOT_RECORDED,
        "level": level_text,
        "tiers": ", ".join(tiers) or NOT_RECORDED,
        "hosts": ", ".join(hosts) or NOT_RECORDED,
        "eta": eta_text,
        "lead": details.get("lead") or NOT_RECORDED,
        "contact": details.get("contact") or details.get("lead") or NOT_RECORDED,
        "company": details.get("company") or "The operations team",
        "support": details.get("support") or "",
        "what_happened": details.get("what_happened") or "A software update caused errors in %s." % system,
        "current_state": current_state,
        "actions": actions,
        "services_restarted": _per_host(results, "services_restarted"),
        "data_restored": _per_host(results, "restored"),
        "validation": [
            (line if len(results) == 1 else "%s: %s" % (host, line))
            for host in sorted(results)
            for line in (_verify_line(c) for c in _as_list((results[host] or {}).get("verify")))
        ],
        "verified": verified,
        "snapshot_taken": bool(snapshots),
        "next_steps": next_steps,
        "error": details.get("error") or timings.get("error") or "",
        "failed_phase": timings.get("failed_phase") or "",
        "failed_host": timings.get("failed_host") or "",
    }


def _bullets(items, empty="none"):
    items = _as_list(items)
    return "\n".join("- %s" % item for item in items) if items else "- %s" % empty


def _initiated(ctx):
    subject = "ROLLBACK INITIATED - %s" % ctx["system"]
    body = "\n".join([
        "ROLLBACK INITIATED",
        "",
        "Time: %s" % ctx["time"],
        "Reason: %s" % ctx["reason"],
        "Impact: %s" % ctx["impact"],
        "Level: %s" % ctx["level"],
        "ETA: %s" % ctx["eta"],
        "Lead: %s" % ctx["lead"],
        "Hosts: %s" % ctx["hosts"],
        "Run: %s" % ctx["run_id"],
    ])
    return subject, body


def _completed(ctx):
    subject = "ROLLBACK COMPLETED - %s" % ctx["system"]
    body = "\n".join([
        "Status: ROLLBACK COMPLETED",
        "Time: %s" % ctx["time"],
        "Duration: %s" % ctx["duration"],
        "Downtime: %s" % ctx["downtime"],
        "Impact: %s" % ctx["impact"],
        "Current State: %s" % ctx["current_state"],
        "Level: %s" % ctx["level"],
        "Run: %s" % ctx["run_id"],
        "",
        "Actions Taken:",
        _bullets(ctx["actions"]),
        "",
        "Services restarted:",
        _bullets(ctx["services_restarted"]),
        "",
        "Data restored:",
        _bullets(ctx["data_restored"]),
        "",
        "Validation:",
        _bullets(ctx["validation"], empty="no checks recorded"),
        "",
        "Next Steps:",
        _bullets(ctx["next_steps"]),
        "",
        "Contact: %s" % ctx["contact"],
    ])
    return subject, body


def _failed(ctx):
    subject = "ROLLBACK FAILED - %s" % ctx["system"]
    where = " ".join(x for x in (
        "in phase %s" % ctx["failed_phase"] if ctx["failed_phase"] else "",
        "on %s" % ctx["failed_host"] if ctx["failed_host"] else "") if x)
    body = "\n".join([
        "Status: ROLLBACK FAILED%s" % (" " + where if where else ""),
        "Time: %s" % ctx["time"],
        "Error: %s" % (ctx["error"] or NOT_RECORDED),
        "Reason for the rollback: %s" % ctx["reason"],
        "Level: %s" % ctx["level"],
        "Current State: %s" % ctx["current_state"],
        "Run: %s" % ctx["run_id"],
        "",
        "Actions Taken:",
        _bullets(ctx["actions"]),
        "",
        "Next Steps:",
        _bullets(ctx["next_steps"]),
        "",
        "Contact: %s" % ctx["contact"],
    ])
    return subject, body


def _customer(ctx):
    if ctx["status"] == "completed" and ctx["verified"]:
        subject = "Temporary System Issue - Resolved"
        lines = [
            "Dear Users,",
            "",
            "We experienced a technical issue with %s that has been resolved." % ctx["system"],
            "",
            "What happened:",
            ctx["what_happened"],
            "",
            "Impact:",
            "%s (service interrupted for %s)" % (ctx["impact"], ctx["downtime"])
            if ctx["impact"] != NOT_RECORDED else "Service was interrupted for %s." % ctx["downtime"],
            "",
            "Current status:",
            "- All systems are operational",
        ]
        if ctx["snapshot_taken"]:
            lines.append("- No data loss: everything written before the fix was kept")
        lines += [
            "",
            "Next steps:",
            "- We are investigating the root cause",
            "- We will provide updates as needed",
        ]
    else:
        subject = "Service disruption - %s" % ctx["system"]
        lines = [
            "We are currently experiencing technical difficulties with our service.",
            "Our team is working on resolving the issue.",
            "We expect normal service to resume within %s." % ctx["eta"]
            if ctx["eta"] != NOT_RECORDED else "We will post an update shortly.",
            "We apologize for any inconvenience.",
        ]
    if ctx["support"]:
        lines += ["", "Contact support: %s" % ctx["support"]]
    lines += ["", "Thank you for your patience.", "", ctx["company"]]
    return subject, "\n".join(lines)


_RENDERERS = {"initiated": _initiated, "completed": _completed, "failed": _failed, "customer": _customer}


def render(template, context):
    """Return ``(subject, body)`` of ``template`` (one of :data:`TEMPLATES`) for ``context``."""
    try:
        renderer = _RENDERERS[template]
    except KeyError:
        raise ValueError("unknown message template %r; known: %s" % (template, ", ".join(TEMPLATES)))
    return renderer(context)
