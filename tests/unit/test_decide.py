# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decision engine: every rule of every shipped policy as a table, the loop guard, bad input,
the module and the filter, and properties: worse signals never decide milder or lower, a spike
shorter than a window never fires, stale data never rolls back."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.rewind.rollback.plugins.filter.decide import decide as decide_filter
from ansible_collections.rewind.rollback.plugins.module_utils import _decide as dec
from ansible_collections.rewind.rollback.plugins.module_utils._policy import DECISIONS, SEVERITIES, load_policy
from ansible_collections.rewind.rollback.plugins.module_utils._signals import METRICS, FIRED
from ansible_collections.rewind.rollback.plugins.modules import decide as decide_module

NOW = 1_800_000_000.0
SHIPPED = ("generic", "laravel", "chatbot", "wordpress", "django")
POLICIES = {name: load_policy(name) for name in SHIPPED}


def decide(policy, signals=None, incident=None, **kwargs):
    return dec.decide(POLICIES[policy], signals=signals, incident=incident, now=kwargs.pop("now", NOW), **kwargs)


def bad_since(bad, good, seconds, step=15, span=1800):
    """Good samples every step over span, turning bad for the last `seconds` up to now."""
    return [[NOW - ago, bad if ago <= seconds else good] for ago in range(span, -1, -step)]


def failing_last(count, total=10, step=10):
    """health_ok checks every step seconds: passing, then the last `count` failing."""
    return [[NOW - step * (total - 1 - i), 0 if i >= total - count else 1] for i in range(total)]


# --- metric triggers: each fires when held for its window, and not at the threshold nor shorter ------

METRIC_RULES = [
    # policy, trigger, metric, side, threshold, window s (or None for consecutive), decision, level, deadline min
    ("generic", "error_rate", "error_rate_pct", "above", 10, 300, "rollback_now", "code", None),
    ("generic", "latency_p95", "latency_p95_ms", "above", 5000, 300, "rollback_now", "code", None),
    ("generic", "memory", "memory_pct", "above", 95, 60, "rollback_now", "code", None),
    ("generic", "db_pool_exhausted", "db_pool_exhausted", "above", 0, 60, "rollback_now", "code", None),
    ("laravel", "error_rate", "error_rate_pct", "above", 5, 600, "rollback_now", "code", None),
    ("laravel", "response_time", "latency_avg_ms", "above", 10000, 60, "rollback_now", "code", None),
    ("laravel", "availability", "availability_pct", "below", 95, 300, "rollback_now", "code", None),
    ("laravel", "memory", "memory_pct", "above", 90, 60, "rollback_now", "code", None),
    ("chatbot", "api_errors", "error_rate_pct", "above", 5, 300, "rollback_now", "code", None),
    ("chatbot", "slow_critical_operations", "latency_p95_ms", "above", 3000, 300, "rollback_if_fix_exceeds", "code",
     120),
    ("chatbot", "cpu", "cpu_pct", "above", 90, 300, "rollback_if_fix_exceeds", "code", 120),
    ("chatbot", "memory", "memory_pct", "above", 90, 300, "rollback_if_fix_exceeds", "code", 120),
    ("chatbot", "db_pool_exhausted", "db_pool_exhausted", "above", 0, 60, "rollback_if_fix_exceeds", "code", 120),
]
CONSECUTIVE_RULES = [
    # policy, trigger, failures needed, decision, level
    ("generic", "health_checks", 4, "rollback_now", "code"),
    ("chatbot", "service_down", 4, "rollback_now", "code"),
    ("wordpress", "health_checks", 4, "rollback_now", "code"),
    ("django", "health_checks", 4, "rollback_now", "code"),
]


def _ids(rules):
    return ["%s-%s" % rule[:2] for rule in rules]


def _state(result, trigger_id):
    return next(t for t in result["triggers"] if t["id"] == trigger_id)["state"]


@pytest.mark.parametrize("policy, trigger, metric, side, threshold, window, decision, level, deadline",
                         METRIC_RULES, ids=_ids(METRIC_RULES))
def test_metric_rule(policy, trigger, metric, side, threshold, window, decision, level, deadline):
    bad = threshold + 1 if side == "above" else threshold - 1
    fired = decide(policy, {metric: bad_since(bad, threshold, window + 60)})
    assert _state(fired, trigger) == FIRED
    assert (fired["decision"], fired["level_name"], fired["fix_deadline_min"]) == (decision, level, deadline)
    assert fired["rollback"] is (decision == "rollback_now")
    assert any(reason.startswith(next(t["description"] for t in POLICIES[policy]["triggers"] if t["id"] == trigger))
               for reason in fired["reasons"])

    at_threshold = decide(policy, {metric: bad_since(threshold, threshold, 1800)})
    shorter = decide(policy, {metric: bad_since(bad, threshold, window - 15)})
    for result in (at_threshold, shorter):
        assert (_state(result, trigger), result["decision"], result["level"]) == ("clear", "monitor", None)


@pytest.mark.parametrize("policy, trigger, needed, decision, level", CONSECUTIVE_RULES, ids=_ids(CONSECUTIVE_RULES))
def test_consecutive_rule(policy, trigger, needed, decision, level):
    fired = decide(policy, {"health_ok": failing_last(needed)})
    assert (_state(fired, trigger), fired["decision"], fired["level_name"]) == (FIRED, decision, level)
    one_short = decide(policy, {"health_ok": failing_last(needed - 1)})
    assert (_state(one_short, trigger), one_short["decision"]) == ("clear", "monitor")


def test_a_rule_on_a_bare_name_judges_every_qualified_check():
    result = decide("chatbot", {"health_ok:messaging": failing_last(0), "health_ok:auth": failing_last(5)})
    report = next(t for t in result["triggers"] if t["id"] == "service_down")
    assert (report["state"], report["metric"], result["decision"]) == (FIRED, "health_ok:auth", "rollback_now")
    assert report["condition"] == "health_ok:auth < 1" and len(report["observed"]) == 4


def test_a_known_time_to_fix_settles_a_trigger_deadline():
    slow = {"cpu_pct": bad_since(99, 20, 600)}
    longer = decide("chatbot", slow, {"issue_type": "performance", "severity": "medium", "time_to_fix_min": 180})
    shorter = decide("chatbot", slow, {"issue_type": "performance", "severity": "medium", "time_to_fix_min": 30})
    assert (longer["decision"], longer["level_name"]) == ("rollback_now", "code")
    assert (shorter["decision"], shorter["level"]) == ("fix_forward", None)


# --- incidents: incident triggers and matrix rows ------------------------------------------------------

def incident(issue_type, severity, impact=None, ttf=None):
    return {"issue_type": issue_type, "severity": severity, "impact_pct": impact, "time_to_fix_min": ttf}


INCIDENT_RULES = [
    # generic: severity x impact x time to fix -> level range
    ("generic", incident("functional", "critical", 100, 90), "rollback_now", "code", None),
    ("generic", incident("data", "critical", 100, 90), "rollback_now", "database", None),
    ("generic", incident("functional", "critical", 100), "rollback_if_fix_exceeds", "code", 15),
    ("generic", incident("functional", "critical", 100, 45), "rollback_now", "code", None),
    ("generic", incident("data", "critical", 99, 90), "rollback_now", "code", None),
    ("generic", incident("functional", "high", 60, 40), "rollback_now", "code", None),
    ("generic", incident("functional", "high", 50, 40), "rollback_now", "code", None),
    ("generic", incident("functional", "high", 49, 40), "rollback_now", "config", None),
    ("generic", incident("functional", "high", 60, 20), "rollback_now", "config", None),
    ("generic", incident("ui", "high", 60, 40), "rollback_now", "config", None),
    ("generic", incident("functional", "medium", 30, 20), "rollback_now", "config", None),
    ("generic", incident("ui", "medium", 30, 20), "rollback_now", "flag", None),
    ("generic", incident("functional", "medium", 30, 10), "fix_forward", None, None),
    ("generic", incident("functional", "medium", 30, 15), "fix_forward", None, None),
    ("generic", incident("functional", "medium", 5, 60), "fix_forward", None, None),
    ("generic", incident("functional", "low", 5, 10), "fix_forward", None, None),
    ("generic", incident("functional", "low", 80, 120), "fix_forward", None, None),
    # laravel: database corruption is automatic; the rest goes through generic's matrix
    ("laravel", incident("data", "high"), "rollback_now", "database", None),
    ("laravel", incident("data", "critical", 5, 5), "rollback_now", "database", None),
    ("laravel", incident("data", "medium", 30, 20), "rollback_now", "config", None),
    # chatbot: issue type x severity
    ("chatbot", incident("functional", "critical"), "rollback_now", "code", None),
    ("chatbot", incident("functional", "high"), "rollback_if_fix_exceeds", "code", 120),
    ("chatbot", incident("functional", "high", ttf=150), "rollback_now", "code", None),
    ("chatbot", incident("functional", "high", ttf=90), "fix_forward", None, None),
    ("chatbot", incident("functional", "medium"), "fix_forward", None, None),
    ("chatbot", incident("outage", "critical"), "rollback_now", "code", None),
    ("chatbot", incident("performance", "critical"), "rollback_now", "code", None),
    ("chatbot", incident("performance", "high"), "rollback_if_fix_exceeds", "code", 120),
    ("chatbot", incident("performance", "medium"), "fix_forward", None, None),
    ("chatbot", incident("security", "critical"), "rollback_now", "code", None),
    ("chatbot", incident("security", "high"), "rollback_now", "code", None),
    ("chatbot", incident("security", "medium"), "fix_forward", None, None),
    ("chatbot", incident("data", "critical"), "rollback_now", "database", None),
    ("chatbot", incident("data", "high"), "rollback_if_fix_exceeds", "database", 60),
    ("chatbot", incident("data", "high", ttf=61), "rollback_now", "database", None),
    ("chatbot", incident("data", "high", ttf=60), "fix_forward", None, None),
    ("chatbot", incident("functional", "low"), "monitor", None, None),
    ("chatbot", incident("ui", "critical"), "monitor", None, None),
    # wordpress: deployment failures are automatic; its matrix for the rest
    ("wordpress", incident("functional", "critical"), "rollback_now", "code", None),
    ("wordpress", incident("outage", "critical"), "rollback_now", "code", None),
    ("wordpress", incident("data", "critical"), "rollback_now", "database", None),
    ("wordpress", incident("security", "critical"), "rollback_now", "code", None),
    ("wordpress", incident("outage", "high"), "rollback_if_fix_exceeds", "code", 30),
    ("wordpress", incident("outage", "high", ttf=20), "fix_forward", None, None),
    ("wordpress", incident("performance", "medium"), "monitor", None, None),
    ("wordpress", incident("ui", "low"), "fix_forward", None, None),
    ("wordpress", incident("security", "high"), "monitor", None, None),
    # django: when to roll back; generic's matrix for the rest
    ("django", incident("functional", "critical", 1, 1), "rollback_now", "code", None),
    ("django", incident("security", "high", 1, 1), "rollback_now", "code", None),
    ("django", incident("performance", "high", 1, 1), "rollback_now", "code", None),
    ("django", incident("data", "high", 1, 1), "rollback_now", "database", None),
    ("django", incident("security", "medium", 20), "rollback_if_fix_exceeds", "config", 15),
]


@pytest.mark.parametrize("policy, inc, decision, level, deadline", INCIDENT_RULES,
                         ids=["%s-%s-%s-%s-%s" % ((p,) + tuple(i.values())) for p, i, _, _, _ in INCIDENT_RULES])
def test_incident_rule(policy, inc, decision, level, deadline):
    result = decide(policy, incident=inc)
    assert (result["decision"], result["level_name"], result["fix_deadline_min"]) == (decision, level, deadline)
    assert result["severity"] == inc["severity"]


@pytest.mark.parametrize("severity, within, notify", [
    ("critical", 5, ["phone", "sms", "email"]), ("high", 15, ["phone", "email"]), ("medium", 60, ["email"]),
    ("low", 240, ["email"]),
])
def test_laravel_escalation(severity, within, notify):
    result = decide("laravel", incident=incident("functional", severity))
    assert result["escalation"] == {"severity": severity, "respond_within_min": within, "notify": notify}
    assert "Escalation: %s - respond within %d min via %s" % (severity, within, ", ".join(notify)) in result["text"]


def test_escalation_takes_the_worst_severity_of_triggers_and_incident():
    result = decide("laravel", {"availability_pct": bad_since(50, 99, 400)}, incident("ui", "low"))
    assert result["severity"] == "critical" and result["escalation"]["respond_within_min"] == 5
    assert decide("generic", incident=incident("ui", "low"))["escalation"] is None


@pytest.mark.parametrize("service, rto, rpo", [
    (None, 5, 1), ("core_api", 5, 1), ("auth", 5, 1), ("database", 15, 5), ("file_storage", 30, 15),
    ("analytics", 120, 60),
])
def test_rto_rpo_per_service(service, rto, rpo):
    result = decide("generic", incident=incident("data", "critical", 100, 90), service=service)
    assert (result["service"], result["rto_min"], result["rpo_min"]) == (service or "core_api", rto, rpo)
    warned = any("longer than the %d min RTO" % rto in reason for reason in result["reasons"])
    assert warned is (30 > rto)  # level 4 (database) is planned to take up to 30 min


def test_an_unknown_service_lists_the_policy_services():
    with pytest.raises(dec.DecisionError,
                       match="unknown service 'payments' in policy generic; accepted: core_api, auth"):
        decide("generic", service="payments")


# --- not enough data: inconclusive, never a rollback ------------------------------------------------------

def test_stale_data_is_inconclusive():
    result = decide("generic", {"error_rate_pct": [[NOW - 600 + 15 * i, 90] for i in range(20)]})
    assert (result["decision"], result["rollback"]) == ("inconclusive", False)
    assert result["summary"] == ("inconclusive: not enough data to decide (error_rate_pct: stale: the newest sample "
                                 "is 5m15s old (allowed: 1m))")


def test_too_few_samples_is_inconclusive():
    result = decide("generic", {"error_rate_pct": [[NOW - 600, 90], [NOW, 90]]})
    assert result["decision"] == "inconclusive"
    assert "a gap of 10m" in result["summary"]


def test_nothing_to_decide_on_is_inconclusive():
    result = decide("generic", {})
    assert result["decision"] == "inconclusive"
    assert result["summary"] == "inconclusive: not enough data to decide (no signal a trigger watches and no incident)"


def test_open_evidence_turns_a_mild_incident_inconclusive_but_keeps_a_rollback():
    stale = {"memory_pct": [[NOW - 3600, 99]]}
    assert decide("generic", stale, incident("ui", "low"))["decision"] == "inconclusive"
    assert decide("chatbot", stale, incident("data", "critical"))["decision"] == "rollback_now"


def test_a_fired_trigger_stands_beside_an_inconclusive_one():
    result = decide("generic", {"error_rate_pct": bad_since(50, 0, 600), "memory_pct": [[NOW - 3600, 99]]})
    assert result["decision"] == "rollback_now"
    assert [(t["id"], t["state"]) for t in result["triggers"] if t["state"] != "not_observed"] == \
        [("error_rate", FIRED), ("memory", "inconclusive")]


def test_healthy_signals_monitor():
    healthy = {"error_rate_pct": bad_since(0.5, 0.5, 0), "latency_p95_ms": bad_since(300, 300, 0),
               "health_ok": failing_last(0), "memory_pct": bad_since(40, 40, 0),
               "db_pool_exhausted": bad_since(0, 0, 0)}
    result = decide("generic", healthy)
    assert (result["decision"], result["rollback"], result["level"]) == ("monitor", False, None)
    assert result["summary"] == "monitor: no trigger fired"
    assert "Within thresholds: error_rate, latency_p95, health_checks, memory, db_pool_exhausted." in result["reasons"]


# --- the loop guard ---------------------------------------------------------------------------------------

LEDGER = [{"id": "r1", "bad": False}, {"id": "r2", "bad": True}, {"id": "r3", "bad": False}]
FIRING = {"error_rate_pct": bad_since(50, 0, 600)}


@pytest.mark.parametrize("history, blocked", [
    (None, None),
    ({"releases": LEDGER, "current": "r3"}, None),                                   # r2 is bad: goes to r1
    ({"releases": LEDGER, "current": "r3", "target": "r2"}, "The target release r2 is marked bad"),
    ({"releases": LEDGER[:2], "current": "r2"}, None),
    ({"releases": LEDGER[1:], "current": "r3"}, "No release before r3 that is not marked bad"),
    ({"rollbacks": [{"time": NOW - 600}, {"time": NOW - 1200}]}, "2 automatic rollbacks in the last 1h (limit 2)"),
    ({"rollbacks": [{"time": "2027-01-15T07:50:00Z"}, {"time": "2027-01-15T07:40:00Z"}]},
     "2 automatic rollbacks in the last 1h"),
    ({"rollbacks": [{"time": NOW - 600}, {"time": NOW - 1200, "automatic": False}]}, None),
    ({"rollbacks": [{"time": NOW - 600}, {"time": NOW - 3700}]}, None),
])
def test_loop_guard(history, blocked):
    result = decide("generic", FIRING, history=history)
    assert result["decision"] == "rollback_now"
    assert result["rollback"] is (blocked is None)
    if blocked:
        assert result["blocked_by"][0].startswith(blocked)
        assert "but the loop guard blocks an automatic rollback: " + blocked in result["summary"]
        assert "Loop guard: " + result["blocked_by"][0] in result["reasons"]
    else:
        assert result["blocked_by"] == []


def test_iso_times_count_as_unix_times():
    assert NOW == 1_800_000_000.0  # 2027-01-15T08:00:00Z, which the ISO times above are relative to
    assert dec.check_history({"rollbacks": [{"time": "2027-01-15T08:00:00Z"}]})["rollbacks"] == [NOW]


def test_the_loop_guard_only_stops_an_automatic_rollback_now():
    result = decide("chatbot", {"cpu_pct": bad_since(99, 20, 600)},
                    history={"releases": LEDGER, "current": "r3", "target": "r2"})
    assert (result["decision"], result["blocked_by"]) == ("rollback_if_fix_exceeds", [])


def test_a_history_without_current_or_target_says_what_it_could_not_check():
    result = decide("generic", FIRING, history={"releases": LEDGER})
    assert result["rollback"] is True
    assert any(r.startswith("Loop guard could not find the target release") for r in result["reasons"])


# --- the loop guard's history from the release ledgers (rollback.yml -e level=auto) ----------------------

def _ledger(*steps):
    """A ledger written by the _releases functions: ("record", id) and ("rollback", from, to, note)."""
    import datetime
    from ansible_collections.rewind.rollback.plugins.module_utils import _releases as rel
    ledger = rel.empty_ledger()
    for when, step in enumerate(steps):
        at = datetime.datetime.fromtimestamp(NOW - 3000 + 60 * when, datetime.timezone.utc)
        if step[0] == "record":
            ledger, _ = rel.record(ledger, {"id": step[1], "revision": "rev-" + step[1]}, now=at)
        else:
            ledger, _ = rel.rollback(ledger, step[1], step[2], now=at, note=step[3])
    return ledger


def _info(ledger):
    """What release_info returns for a ledger (deployed in place: current from the ledger)."""
    from ansible_collections.rewind.rollback.plugins.module_utils._releases import current_from_ledger
    return {"releases": ledger["releases"], "events": ledger["events"], "current": current_from_ledger(ledger),
            "item": "wp1", "changed": False}


def test_history_from_a_fresh_deployment_allows_the_rollback():
    history = dec.history_from_ledgers([_info(_ledger(("record", "r1"), ("record", "r2")))])
    assert history == {"releases": [{"id": "r1", "bad": False}, {"id": "r2", "bad": False}], "current": "r2",
                       "rollbacks": []}
    result = decide("generic", FIRING, history=history)
    assert (result["rollback"], result["blocked_by"]) == (True, [])
    assert not any(r.startswith("Loop guard") for r in result["reasons"])


def test_history_after_an_automatic_rollback_blocks_the_next_one():
    ledger = _ledger(("record", "r1"), ("record", "r2"), ("rollback", "r2", "r1", "run-a: auto"))
    history = dec.history_from_ledgers([_info(ledger)])
    assert history["current"] == "r1" and history["releases"][1] == {"id": "r2", "bad": True}
    assert history["rollbacks"] == [{"time": NOW - 3000 + 120, "automatic": True}]
    result = decide("generic", FIRING, history=history)
    assert result["rollback"] is False
    assert result["blocked_by"] == ["No release before r1 that is not marked bad: nowhere to roll back to "
                                    "automatically."]


def test_history_counts_rollbacks_in_the_window_against_the_limit():
    ledger = _ledger(("record", "r1"), ("record", "r2"), ("rollback", "r2", "r1", "run-a"), ("record", "r3"),
                     ("rollback", "r3", "r1", "run-b"), ("record", "r4"))
    result = decide("generic", FIRING, history=dec.history_from_ledgers([_info(ledger)]))
    assert result["blocked_by"] == ["2 automatic rollbacks in the last 1h (limit 2): a person decides the next one."]
    blocked, _ = dec.loop_guard(POLICIES["generic"]["loop_guard"],
                                dec.check_history(dec.history_from_ledgers([_info(ledger)])), NOW + 3600)
    assert blocked == [], "rollbacks older than the window no longer count"


def test_a_fleet_history_is_as_strict_as_its_strictest_host():
    rolled = _ledger(("record", "r1"), ("record", "r2"), ("rollback", "r2", "r1", "run-a: auto"))
    fresh = _ledger(("record", "r1"), ("record", "r2"))
    both = dec.history_from_ledgers([_info(fresh), _info(rolled), _info(rolled)])
    assert both["releases"] == [{"id": "r1", "bad": False}, {"id": "r2", "bad": True}]
    assert both["current"] == "r2", "the first host's current release"
    assert len(both["rollbacks"]) == 1, "one fleet rollback writes one event per host: counted once"
    other_run = _ledger(("record", "r1"), ("record", "r2"), ("rollback", "r2", "r1", "run-b: auto"))
    assert len(dec.history_from_ledgers([_info(rolled), _info(other_run)])["rollbacks"]) == 2


def test_history_from_ledger_files_and_skipped_hosts():
    ledger = _ledger(("record", "r1"), ("record", "r2"))
    assert dec.history_from_ledgers([ledger])["current"] == "r2", "a ledger file: current from its events"
    assert dec.history_from_ledgers([{"skipped": True, "item": "wp2"}]) == {"releases": [], "current": None,
                                                                            "rollbacks": []}


@pytest.mark.parametrize("ledgers, match", [
    ({"releases": []}, r"ledgers: expected a list of release ledgers"),
    (["r1"], r"ledgers\[0\]: expected a ledger with lists 'releases' and 'events'"),
    ([{"releases": [{"bad": True}]}], r"ledgers\[0\].releases\[0\]: expected \{id: <str>"),
    ([{"events": [{"action": "rollback"}]}], r"ledgers\[0\].events\[0\]: expected \{time, action, release"),
    ([{"events": [{"time": "later", "action": "rollback", "release": "r1"}]}],
     r"ledgers\[0\].events\[0\].time: expected a unix time or an ISO-8601 time, got 'later'"),
])
def test_history_from_bad_ledgers(ledgers, match):
    with pytest.raises(dec.DecisionError, match=match):
        dec.history_from_ledgers(ledgers)


def test_the_loop_guard_history_filter():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.rewind.rollback.plugins.filter.loop_guard_history import loop_guard_history
    info = _info(_ledger(("record", "r1"), ("record", "r2")))
    assert loop_guard_history({"results": [info], "changed": False}) == dec.history_from_ledgers([info])
    assert loop_guard_history([info])["current"] == "r2"
    with pytest.raises(AnsibleFilterError, match="REWIND-E-INPUT: ledgers: expected a list"):
        loop_guard_history("releases.json")


# --- bad input names the value and the accepted ones ------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"signals": {"errors": []}}, r"signals: unknown metric 'errors'; accepted: error_rate_pct, availability_pct"),
    ({"incident": {"issue_type": "bug", "severity": "high"}},
     r"incident.issue_type: unknown value 'bug'; accepted: functional, performance, security, data, outage, ui"),
    ({"incident": {"issue_type": "data", "severity": "urgent"}},
     r"incident.severity: unknown value 'urgent'; accepted: low, medium, high, critical"),
    ({"incident": {"issue_type": "data"}}, r"incident.severity: required, got None"),
    ({"incident": {"issue_type": "data", "severity": "high", "users": 5}}, r"incident: unknown key 'users'"),
    ({"incident": {"issue_type": "data", "severity": "high", "impact_pct": 120}}, r"incident.impact_pct: 120 is out"),
    ({"incident": "data loss"}, r"incident: expected a mapping"),
    ({"history": {"releases": [{"id": 3}]}}, r"history.releases\[0\]: expected \{id: <str>, bad: <bool>"),
    ({"history": {"rollbacks": [{"time": "yesterday"}]}}, r"history.rollbacks\[0\].time: expected a unix time"),
    ({"history": {"ledger": []}}, r"history: unknown key 'ledger'; accepted: releases, current, target, rollbacks"),
    ({"now": None}, r"now: expected a number"),
])
def test_bad_input(kwargs, match):
    kwargs.setdefault("now", NOW)
    with pytest.raises(ValueError, match=match):
        dec.decide(POLICIES["generic"], **kwargs)


# --- the module and the filter ----------------------------------------------------------------------------

def test_the_module_decides_from_policy_data(run):
    result, _ = run(decide_module, check_mode=True, policy="laravel", _policy_data=POLICIES["laravel"],
                    signals=FIRING, now=NOW, incident={"issue_type": "data", "severity": "critical"})
    expected = decide("laravel", FIRING, incident("data", "critical"))
    assert result["changed"] is False
    assert {key: result[key] for key in expected} == expected
    assert (result["decision"], result["level_name"], result["rollback"]) == ("rollback_now", "database", True)


@pytest.mark.parametrize("args, match", [
    ({}, "the policy data is missing"),
    ({"_policy_data": {"description": "x"}}, "REWIND-E-INPUT: mine: evidence: required"),
    ({"_policy_data": POLICIES["generic"], "signals": {"errors": []}}, "REWIND-E-INPUT: signals: unknown metric"),
    ({"_policy_data": POLICIES["generic"], "incident": {"issue_type": "bug", "severity": "low"}},
     "value of issue_type must be one of: functional, performance, security, data, outage, ui, got: bug"),
])
def test_the_module_refuses(run, args, match):
    result, _ = run(decide_module, policy="mine", **args)
    assert result["failed"] and match in result["msg"], result["msg"]


def test_the_filter_decides_like_the_module():
    assert decide_filter(FIRING, "laravel", now=NOW) == decide("laravel", FIRING)


def test_the_filter_reports_bad_input():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="REWIND-E-INPUT: unknown policy 'larvel'; available: chatbot"):
        decide_filter({}, "larvel")


def test_the_text_a_person_reads():
    text = decide("chatbot", {"cpu_pct": bad_since(99, 20, 600)}, incident("performance", "high"))["text"]
    lines = text.splitlines()
    assert lines[0] == ("Decision (policy chatbot): rollback_if_fix_exceeds: roll back at level 3 (code) if the fix "
                        "takes more than 2h (trigger cpu; matrix: Performance, high - significant slowdown)")
    assert "  fired        cpu                    cpu_pct > 90 for 5m" in lines
    assert "Reasons:" in lines


# --- properties ------------------------------------------------------------------------------------------

STEP, SPAN = 15, 900  # 15 minutes of 15 s samples: longer than every window, so never inconclusive
TIMES = [NOW - ago for ago in range(SPAN, -1, -STEP)]
CANDIDATES = {  # values around every threshold of the shipped policies
    "error_rate_pct": [0, 4, 5, 6, 9, 10, 11, 60],
    "availability_pct": [100, 96, 95, 94, 50],
    "latency_avg_ms": [100, 9000, 10000, 11000],
    "latency_p95_ms": [200, 2900, 3000, 3100, 4900, 5000, 5100, 20000],
    "memory_pct": [30, 89, 90, 91, 95, 96, 100],
    "cpu_pct": [10, 89, 90, 91, 100],
    "health_ok": [1, 0],
    "db_pool_exhausted": [0, 1],
}


def _worse(metric, a, b):
    return max(a, b) if METRICS[metric]["worse"] == "higher" else min(a, b)


@st.composite
def regime(draw, metric):
    """A series that mostly holds one value, with a few excursions: so rules sometimes fire."""
    values = [draw(st.sampled_from(CANDIDATES[metric]))] * len(TIMES)
    for index, value in draw(st.lists(st.tuples(st.integers(0, len(TIMES) - 1),
                                                st.sampled_from(CANDIDATES[metric])), max_size=4)):
        values[index] = value
    return values


@st.composite
def signal_pair(draw):
    """(signals, worse signals): the second at least as bad as the first at every sample."""
    base, worse = {}, {}
    for metric in draw(st.sets(st.sampled_from(sorted(METRICS)), min_size=1)):
        first, second = draw(regime(metric)), draw(regime(metric))
        base[metric] = [[t, v] for t, v in zip(TIMES, first)]
        worse[metric] = [[t, _worse(metric, v, w)] for t, v, w in zip(TIMES, first, second)]
    return base, worse


incidents = st.one_of(st.none(), st.builds(
    incident, st.sampled_from(dec.ISSUE_TYPES), st.sampled_from(SEVERITIES),
    st.one_of(st.none(), st.sampled_from([0, 5, 10, 30, 50, 60, 100])),
    st.one_of(st.none(), st.sampled_from([0, 10, 15, 20, 30, 45, 60, 90, 120, 180]))))


def _at_least_as_drastic(worse, base):
    if base["decision"] == "inconclusive":  # nothing the policy watches was given, nor an incident
        assert worse["decision"] == "inconclusive" and not any(t["state"] == "inconclusive" for t in base["triggers"])
        return
    assert DECISIONS.index(worse["decision"]) >= DECISIONS.index(base["decision"]), (base["summary"], worse["summary"])
    assert (worse["level"] or 0) >= (base["level"] or 0), (base["summary"], worse["summary"])
    if worse["decision"] == base["decision"] == "rollback_if_fix_exceeds":
        assert worse["fix_deadline_min"] <= base["fix_deadline_min"]


@settings(max_examples=300, deadline=None)
@given(policy=st.sampled_from(SHIPPED), pair=signal_pair(), inc=incidents)
def test_worse_signals_never_decide_milder_or_lower(policy, pair, inc):
    base, worse = pair
    _at_least_as_drastic(decide(policy, worse, inc), decide(policy, base, inc))


@st.composite
def incident_pair(draw):
    issue = draw(st.sampled_from(dec.ISSUE_TYPES))
    sev = sorted(draw(st.lists(st.integers(0, 3), min_size=2, max_size=2)))
    impact = sorted(draw(st.lists(st.sampled_from([0, 5, 10, 30, 50, 60, 100]), min_size=2, max_size=2)))
    ttf = sorted(draw(st.lists(st.sampled_from([0, 10, 15, 20, 30, 45, 60, 90, 120, 180]), min_size=2, max_size=2)))
    if draw(st.booleans()):
        ttf = [None, None]
    return tuple(incident(issue, SEVERITIES[sev[i]], impact[i], ttf[i]) for i in (0, 1))


@settings(max_examples=300, deadline=None)
@given(policy=st.sampled_from(SHIPPED), pair=incident_pair())
def test_a_worse_incident_never_decides_milder_or_lower(policy, pair):
    milder, worse = pair
    _at_least_as_drastic(decide(policy, incident=worse), decide(policy, incident=milder))


WINDOWED = [(name, t) for name in SHIPPED for t in POLICIES[name]["triggers"] if "for" in t]
COUNTED = [(name, t) for name in SHIPPED for t in POLICIES[name]["triggers"] if "consecutive" in t]


def _bad_good(trig):
    if "above" in trig:
        return trig["above"] + 1e6, trig["above"]
    return trig["below"] - 1e6 if trig["metric"] != "health_ok" else 0, trig["below"]


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(WINDOWED), step=st.sampled_from([1, 5, 15, 30]), data=st.data())
def test_a_spike_shorter_than_the_window_never_fires(rule, step, data):
    policy, trig = rule
    bad, good = _bad_good(trig)
    times = [NOW - ago for ago in range(int(3 * trig["for"]) // step * step, -1, -step)]
    start = data.draw(st.integers(0, len(times) - 1), label="spike start")
    length = data.draw(st.integers(1, len(times) - start), label="spike samples")
    after = start + length
    lasted = (times[after] if after < len(times) else NOW) - times[start]
    assume(lasted < trig["for"])
    samples = [[t, bad if start <= i < after else good] for i, t in enumerate(times)]
    result = decide(policy, {trig["metric"]: samples})
    assert _state(result, trig["id"]) == "clear"
    assert result["decision"] == "monitor"


@settings(max_examples=100, deadline=None)
@given(rule=st.sampled_from(COUNTED), failing=st.integers(1, 3), passing=st.integers(1, 5), data=st.data())
def test_fewer_failures_than_the_count_never_fire(rule, failing, passing, data):
    policy, trig = rule
    assume(failing < trig["consecutive"])
    at = data.draw(st.integers(0, passing), label="failures after this many passes")
    values = [1] * at + [0] * failing + [1] * (passing - at)
    samples = [[NOW - 10 * (len(values) - 1 - i), v] for i, v in enumerate(values)]
    assert decide(policy, {"health_ok": samples})["decision"] == "monitor"


@settings(max_examples=200, deadline=None)
@given(policy=st.sampled_from(SHIPPED), pair=signal_pair(), age=st.integers(61, 7200))
def test_stale_signals_never_roll_back(policy, pair, age):
    worst = {metric: [[t - age, v] for t, v in samples] for metric, samples in pair[1].items()}
    result = decide(policy, worst)
    assert (result["decision"], result["rollback"]) == ("inconclusive", False)
    assert all(t["state"] != FIRED for t in result["triggers"])
