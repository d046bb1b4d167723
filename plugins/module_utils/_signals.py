# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signals: the canonical metric names, conditions held over a window, probe statistics and
Prometheus ``query_range`` responses.

A signal is one metric's samples, ``{"error_rate_pct": [[unix_ts, value], ...]}``. Policies,
the ``health_probe`` and ``prometheus_signals`` modules and the decision engine all use the
names in :data:`METRICS`, so a rule written against ``error_rate_pct`` meets the samples a probe
or a Prometheus query produced. A name may carry a qualifier after a colon
(``health_ok:auth``, ``latency_p95_ms:checkout``): a rule on ``health_ok`` then judges every
``health_ok:*`` series, a rule on ``health_ok:auth`` only that one.

Windows mean "held for the whole window". A sample stands for the metric from its time until
the next sample (sample and hold, as Prometheus reads a series), so a condition held over
``[now - window, now]`` when the last sample at or before the window start and every sample
after it meet it. Too few samples, a gap or stale data leave the question open: the verdict is
``inconclusive``, never ``fired``.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

import bisect
import json
import math
import operator
import re
from urllib.parse import urlencode

#: name -> which direction is bad, the unit, and what one sample means.
METRICS = {
    "error_rate_pct": {"worse": "higher", "doc": "requests that failed, % of all requests"},
    "availability_pct": {"worse": "lower", "doc": "time the service answered as expected, %"},
    "latency_avg_ms": {"worse": "higher", "doc": "average response time, ms"},
    "latency_p95_ms": {"worse": "higher", "doc": "95th percentile response time, ms"},
    "memory_pct": {"worse": "higher", "doc": "memory in use, %"},
    "cpu_pct": {"worse": "higher", "doc": "CPU in use, %"},
    "health_ok": {"worse": "lower", "doc": "1 for a passing health check, 0 for a failing one"},
    "db_pool_exhausted": {"worse": "higher", "doc": "1 while the database connection pool is exhausted, else 0"},
}

FIRED = "fired"
CLEAR = "clear"
INCONCLUSIVE = "inconclusive"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SignalError(ValueError):
    """Bad signal data or names: the message names the metric, the sample and what is accepted."""


# --- names and durations ---------------------------------------------------------------

def base_name(name):
    """'health_ok:auth' -> 'health_ok'."""
    return name.split(":", 1)[0]


def check_metric(name, where="signals"):
    """Return ``name`` if its base is canonical, else raise naming the accepted ones."""
    if not isinstance(name, str) or base_name(name) not in METRICS or name.endswith(":"):
        raise SignalError("%s: unknown metric %r; accepted: %s (optionally with a qualifier, as in "
                          "health_ok:auth)" % (where, name, ", ".join(METRICS)))
    return name


def parse_duration(value, where="duration"):
    """Seconds (float) from ``'30s'``, ``'5m'``, ``'2h'``, ``'1d'`` or a number of seconds (``'90'``, 90)."""
    if isinstance(value, bool):
        raise SignalError("%s: expected a duration such as 30s, 5m or 2h, got %r" % (where, value))
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise SignalError("%s: expected a duration such as 30s, 5m or 2h, got %r" % (where, value))
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise SignalError("%s: a duration must be positive, got %r" % (where, value))
    return seconds


def format_duration(seconds):
    """'5m' for 300, '1m30s' for 90, '2h' for 7200, '2.5s' for 2.5."""
    if seconds < 60 or seconds != int(seconds):
        return "%gs" % seconds
    parts, rest = [], int(seconds)
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, _UNIT_S[unit])
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts)


# --- series ------------------------------------------------------------------------------

class Series:
    """One metric's samples, sorted by time: parallel lists ``ts`` and ``values``."""

    __slots__ = ("name", "ts", "values")

    def __init__(self, name, ts, values):
        self.name, self.ts, self.values = name, ts, values


def _series(name, samples):
    if not isinstance(samples, (list, tuple)):
        raise SignalError("signals.%s: expected a list of [unix_ts, value] samples, got %s"
                          % (name, type(samples).__name__))
    try:  # one pass per column: a day of 15 s samples for 20 series is 115,000 samples
        ts = [float(when) for when, _ in samples]
        values = [float(value) for _, value in samples]
    except (TypeError, ValueError):
        raise _bad_sample(name, samples)
    if not all(map(math.isfinite, ts)):
        raise _bad_sample(name, samples)
    if any(map(math.isnan, values)):  # NaN (Prometheus' 0/0 when there was no traffic) is no data
        keep = [i for i, value in enumerate(values) if value == value]
        ts, values = [ts[i] for i in keep], [values[i] for i in keep]
    if not all(map(operator.le, ts, ts[1:])):
        order = sorted(range(len(ts)), key=ts.__getitem__)
        ts, values = [ts[i] for i in order], [values[i] for i in order]
    return Series(name, ts, values)


def _is_sample(sample):
    try:
        when, value = sample
        float(value)
        return math.isfinite(float(when))
    except (TypeError, ValueError):
        return False


def _bad_sample(name, samples):
    """The error naming the first sample that is not ``[finite unix time, number]``."""
    index = next(i for i, sample in enumerate(samples) if not _is_sample(sample))
    return SignalError("signals.%s[%d]: expected [unix_ts, value], two numbers, got %r" % (name, index, samples[index]))


def normalize_signals(signals):
    """``{name: Series}`` from ``{name: [[ts, value], ...]}``; unknown names or bad samples raise."""
    if signals in (None, ""):
        return {}
    if not isinstance(signals, dict):
        raise SignalError("signals: expected a mapping of metric name to [[unix_ts, value], ...], got %s"
                          % type(signals).__name__)
    return {check_metric(name): _series(name, samples) for name, samples in signals.items()}


def series_for(metric, series):
    """The series a rule on ``metric`` judges: the exact name, and for a bare name every qualified one."""
    if ":" in metric:
        return [series[metric]] if metric in series else []
    return [s for name, s in sorted(series.items()) if base_name(name) == metric]


# --- verdicts ------------------------------------------------------------------------------

def bad_when(above=None, below=None):
    """The per-sample test of a rule: ``value > above`` or ``value < below``."""
    if above is not None:
        return lambda value: value > above
    return lambda value: value < below


def _verdict(state, observed, note):
    return {"state": state, "observed": observed, "note": note}


def _stale(ts, end, now, max_gap):
    if end == 0:
        return _verdict(INCONCLUSIVE, [], "no samples at or before now")
    age = now - ts[end - 1]
    if age > max_gap:
        return _verdict(INCONCLUSIVE, [], "stale: the newest sample is %s old (allowed: %s)"
                        % (format_duration(round(age)), format_duration(max_gap)))
    return None


def held_for(series, now, is_bad, window, max_gap, min_samples):
    """Did ``is_bad`` hold for every moment of ``[now - window, now]``?

    ``fired`` when the last sample at or before the window start and every later sample up to
    ``now`` are bad, at least ``min_samples`` of them, with no gap between samples (nor between
    the newest one and ``now``) longer than ``max_gap``. ``clear`` when any of them is good.
    ``inconclusive`` otherwise: stale data, a gap, too few samples, or data that starts inside
    the window.
    """
    ts, values = series.ts, series.values
    end = bisect.bisect_right(ts, now)
    stale = _stale(ts, end, now, max_gap)
    if stale:
        return stale
    start = now - window
    anchor = bisect.bisect_right(ts, start, 0, end) - 1
    first = max(anchor, 0)
    observed = [[ts[i], values[i]] for i in range(first, end)]
    for when, value in observed:
        if not is_bad(value):
            return _verdict(CLEAR, observed, "within the threshold at %s (%g)" % (_when(when, now), value))
    if anchor < 0:
        return _verdict(INCONCLUSIVE, observed, "the data starts %s into the %s window: it is not known "
                        "what came before" % (format_duration(round(ts[first] - start)), format_duration(window)))
    gaps = [(ts[i + 1] - ts[i], ts[i]) for i in range(first, end - 1)]
    widest = max(gaps) if gaps else (0.0, ts[first])
    if widest[0] > max_gap:
        return _verdict(INCONCLUSIVE, observed, "a gap of %s in the data at %s (allowed: %s)"
                        % (format_duration(round(widest[0])), _when(widest[1], now), format_duration(max_gap)))
    if len(observed) < min_samples:
        return _verdict(INCONCLUSIVE, observed, "%d samples cover the window, %d needed"
                        % (len(observed), min_samples))
    return _verdict(FIRED, observed, "held for %s over %d samples" % (format_duration(window), len(observed)))


def held_consecutive(series, now, is_bad, count, max_gap):
    """Were the newest ``count`` samples all bad? Stale data, or fewer bad samples than ``count``
    with nothing good among them, is ``inconclusive``."""
    ts, values = series.ts, series.values
    end = bisect.bisect_right(ts, now)
    stale = _stale(ts, end, now, max_gap)
    if stale:
        return stale
    observed = [[ts[i], values[i]] for i in range(max(end - count, 0), end)]
    for when, value in observed:
        if not is_bad(value):
            return _verdict(CLEAR, observed, "passed at %s (%g)" % (_when(when, now), value))
    if len(observed) < count:
        return _verdict(INCONCLUSIVE, observed, "only %d samples, all failing; %d consecutive needed"
                        % (len(observed), count))
    return _verdict(FIRED, observed, "%d consecutive failing samples" % count)


def _when(ts, now):
    return "now" if ts >= now else "%s ago" % format_duration(max(round(now - ts), 1))


# --- health probes ------------------------------------------------------------------------

def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(int(math.ceil(pct / 100.0 * len(ordered))), 1)
    return ordered[rank - 1]


def _stat(value):
    return None if value is None else round(value, 3)


def probe_statistics(rounds):
    """Statistics and canonical signals from probe rounds.

    ``rounds`` is a list of ``{"time": unix_ts, "checks": [{"ok": bool, "latency_ms": float or
    None}, ...]}``, one round probing every endpoint once. A round fails when any check in it
    fails. Latencies count every check that got an answer, whatever its status.

    Returns ``(stats, signals)``: ``stats`` has ``requests``, ``failures``, ``error_rate_pct``
    (failed checks), ``availability_pct`` (rounds in which every endpoint passed),
    ``latency_avg_ms``, ``latency_p50_ms``, ``latency_p95_ms`` (None without answers),
    ``consecutive_failures`` (failed rounds at the end) and ``max_consecutive_failures``;
    ``signals`` has one sample per round of ``health_ok``, ``error_rate_pct``,
    ``availability_pct``, and of ``latency_avg_ms``/``latency_p95_ms`` for rounds with answers.
    """
    signals = {name: [] for name in ("health_ok", "error_rate_pct", "availability_pct",
                                     "latency_avg_ms", "latency_p95_ms")}
    latencies, requests, failures, run, longest = [], 0, 0, 0, 0
    for rnd in rounds:
        checks = rnd["checks"]
        failed = sum(1 for check in checks if not check["ok"])
        answered = [check["latency_ms"] for check in checks if check["latency_ms"] is not None]
        requests += len(checks)
        failures += failed
        latencies += answered
        run = run + 1 if failed else 0
        longest = max(longest, run)
        when = rnd["time"]
        signals["health_ok"].append([when, 0 if failed else 1])
        signals["error_rate_pct"].append([when, _stat(100.0 * failed / len(checks))])
        signals["availability_pct"].append([when, 0.0 if failed else 100.0])
        if answered:
            signals["latency_avg_ms"].append([when, _stat(sum(answered) / len(answered))])
            signals["latency_p95_ms"].append([when, _stat(percentile(answered, 95))])
    failed_rounds = sum(1 for sample in signals["health_ok"] if sample[1] == 0)
    stats = {
        "requests": requests,
        "failures": failures,
        "error_rate_pct": _stat(100.0 * failures / requests) if requests else None,
        "availability_pct": _stat(100.0 * (len(rounds) - failed_rounds) / len(rounds)) if rounds else None,
        "latency_avg_ms": _stat(sum(latencies) / len(latencies)) if latencies else None,
        "latency_p50_ms": _stat(percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": _stat(percentile(latencies, 95)) if latencies else None,
        "consecutive_failures": run,
        "max_consecutive_failures": longest,
    }
    return stats, signals


# --- Prometheus ------------------------------------------------------------------------------

def query_range_url(base_url, query, start, end, step):
    """The ``/api/v1/query_range`` URL of ``query`` over ``[start, end]`` every ``step`` seconds."""
    params = urlencode({"query": query, "start": "%.3f" % start, "end": "%.3f" % end, "step": "%gs" % step})
    return "%s/api/v1/query_range?%s" % (base_url.rstrip("/"), params)


def parse_query_range(metric, body):
    """``[[ts, value], ...]`` from a ``query_range`` response body (bytes, str or parsed JSON).

    The query must return at most one series (aggregate with ``sum``/``max`` otherwise); an
    empty result is an empty list, which the decision reads as no data. Prometheus' ``NaN``
    and ``±Inf`` are kept as floats (NaN is dropped later as "no data").
    """
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = json.loads(body)
        except ValueError:
            raise SignalError("%s: Prometheus answered with something that is not JSON: %r"
                              % (metric, _clip(body)))
    if not isinstance(body, dict) or "status" not in body:
        raise SignalError("%s: not a Prometheus API response: %r" % (metric, _clip(body)))
    if body["status"] != "success":
        raise SignalError("%s: Prometheus rejected the query (%s): %s"
                          % (metric, body.get("errorType", "error"), body.get("error", "no reason given")))
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise SignalError("%s: expected a range vector (resultType matrix) from query_range, got %r"
                          % (metric, data.get("resultType")))
    result = data.get("result") or []
    if len(result) > 1:
        labels = ", ".join(json.dumps(series.get("metric", {}), sort_keys=True) for series in result[:3])
        raise SignalError("%s: the query returned %d series (%s%s); it must return one: aggregate it, "
                          "for example with sum(...) or max(...)"
                          % (metric, len(result), labels, ", ..." if len(result) > 3 else ""))
    if not result:
        return []
    try:
        return [[float(when), float(value)] for when, value in result[0]["values"]]
    except (KeyError, TypeError, ValueError):
        raise SignalError("%s: malformed samples in the Prometheus response: %r" % (metric, _clip(result[0])))


def _clip(value, limit=200):
    text = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)
    return text if len(text) <= limit else text[:limit] + "..."
