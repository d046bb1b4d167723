# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signals: names, durations, windows held, probe statistics, Prometheus responses, and the
health_probe and prometheus_signals modules against real local HTTP servers."""

import http.server
import json
import re
import threading
import urllib.parse

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _signals as sig
from ansible_collections.rewind.rollback.plugins.modules import health_probe, prometheus_signals

NOW = 1_800_000_000.0


def series(samples, name="error_rate_pct"):
    return sig.normalize_signals({name: samples})[name]


def every(step, start, stop, value):
    """Samples from NOW-start to NOW-stop (seconds ago, inclusive) every step seconds."""
    return [[NOW - ago, value] for ago in range(start, stop - 1, -step)]


# --- names and durations ----------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1.5m", 90), ("90", 90), (45, 45), (0.5, 0.5),
])
def test_parse_duration(text, seconds):
    assert sig.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "m", "-5m", "0s", "", None, True, float("nan"), [5]])
def test_parse_duration_refuses(bad):
    with pytest.raises(sig.SignalError, match="window: "):
        sig.parse_duration(bad, "window")


@pytest.mark.parametrize("seconds, text", [
    (300, "5m"), (7200, "2h"), (90, "1m30s"), (86400, "1d"), (2.5, "2.5s"), (45, "45s"), (3700, "1h1m40s")])
def test_format_duration(seconds, text):
    assert sig.format_duration(seconds) == text


@pytest.mark.parametrize("name", list(sig.METRICS) + ["health_ok:auth", "latency_p95_ms:checkout"])
def test_canonical_names_are_accepted(name):
    assert sig.check_metric(name) == name


@pytest.mark.parametrize("name", ["error_rate", "http_5xx", "health_ok:", "p95", ":auth"])
def test_unknown_names_list_the_accepted_ones(name):
    with pytest.raises(sig.SignalError) as err:
        sig.normalize_signals({name: []})
    message = str(err.value)
    assert repr(name) in message
    assert all(metric in message for metric in sig.METRICS)


def test_samples_are_sorted_and_nan_is_no_data():
    one = series([[NOW, "5"], [NOW - 30, float("nan")], [NOW - 15, 3], [NOW - 45, "NaN"], [NOW - 60, 1]])
    assert one.ts == [NOW - 60, NOW - 15, NOW]
    assert one.values == [1.0, 3.0, 5.0]


@pytest.mark.parametrize("samples, where", [
    ([[NOW, 1], [NOW]], r"error_rate_pct\[1\]"),
    ([[NOW, "high"]], r"error_rate_pct\[0\]"),
    ([["noon", 1]], r"error_rate_pct\[0\]"),
    ([[float("inf"), 1]], r"error_rate_pct\[0\]"),
    ("1,2", r"signals\.error_rate_pct"),
])
def test_bad_samples_name_metric_and_index(samples, where):
    with pytest.raises(sig.SignalError, match=where):
        sig.normalize_signals({"error_rate_pct": samples})


def test_a_bare_rule_name_judges_every_qualified_series():
    signals = sig.normalize_signals({"health_ok:auth": [], "health_ok:db": [], "health_ok": [], "cpu_pct": []})
    assert [s.name for s in sig.series_for("health_ok", signals)] == ["health_ok", "health_ok:auth", "health_ok:db"]
    assert [s.name for s in sig.series_for("health_ok:db", signals)] == ["health_ok:db"]
    assert sig.series_for("memory_pct", signals) == []


# --- held for a window --------------------------------------------------------------------------

ABOVE_10 = sig.bad_when(above=10)


@pytest.mark.parametrize("samples, state, note", [
    # every 15 s for 6 min, all bad: fired
    (every(15, 360, 0, 20), sig.FIRED, "held for 5m over 21 samples"),
    # the threshold itself is not above it
    (every(15, 360, 0, 10), sig.CLEAR, "within the threshold"),
    # one good sample inside the window
    (every(15, 360, 135, 20) + [[NOW - 120, 2]] + every(15, 105, 0, 20), sig.CLEAR, "2m ago (2)"),
    # bad only since 4 min: the last sample before the window start is good (sample and hold)
    (every(15, 360, 255, 2) + every(15, 240, 0, 20), sig.CLEAR, "5m ago (2)"),
    # bad since the first sample, 4 min ago: what came before is unknown
    (every(15, 240, 0, 20), sig.INCONCLUSIVE, "the data starts 1m into the 5m window"),
    # newest sample 2 min old
    (every(15, 480, 120, 20), sig.INCONCLUSIVE, "stale: the newest sample is 2m old"),
    # a 3-minute hole
    (every(15, 360, 225, 20) + every(15, 45, 0, 20), sig.INCONCLUSIVE, "a gap of 3m"),
    # sparse but allowed gaps, too few samples: 1 per minute is 6 in 5 min, evidence wants 8
    (every(60, 360, 0, 20), sig.INCONCLUSIVE, "6 samples cover the window, 8 needed"),
    ([], sig.INCONCLUSIVE, "no samples at or before now"),
    # samples after now do not count
    ([[NOW + 15, 20]], sig.INCONCLUSIVE, "no samples at or before now"),
])
def test_held_for(samples, state, note):
    verdict = sig.held_for(series(samples), NOW, ABOVE_10, window=300, max_gap=60, min_samples=8)
    assert verdict["state"] == state
    assert note in verdict["note"]


def test_held_for_reports_the_samples_it_judged():
    verdict = sig.held_for(series(every(15, 600, 0, 20)), NOW, ABOVE_10, window=60, max_gap=60, min_samples=3)
    assert verdict["observed"] == [[NOW - ago, 20.0] for ago in (60, 45, 30, 15, 0)]


def test_below_rules_fire_on_low_values():
    availability = series(every(15, 400, 0, 90), "availability_pct")
    assert sig.held_for(availability, NOW, sig.bad_when(below=95), 300, 60, 3)["state"] == sig.FIRED
    assert sig.held_for(availability, NOW, sig.bad_when(below=90), 300, 60, 3)["state"] == sig.CLEAR


# --- consecutive samples ------------------------------------------------------------------------

FAILING = sig.bad_when(below=1)


@pytest.mark.parametrize("values, state", [
    ([1, 1, 0, 0, 0, 0], sig.FIRED),
    ([0, 0, 0, 0, 0, 0], sig.FIRED),
    ([0, 0, 0, 1, 0, 0], sig.CLEAR),
    ([1, 0, 0, 0, 0, 1], sig.CLEAR),
    ([0, 0, 0], sig.INCONCLUSIVE),
    ([1, 0, 0, 0], sig.CLEAR),
])
def test_held_consecutive(values, state):
    samples = [[NOW - 10 * (len(values) - 1 - i), v] for i, v in enumerate(values)]
    assert sig.held_consecutive(series(samples, "health_ok"), NOW, FAILING, 4, 60)["state"] == state


def test_held_consecutive_stale():
    samples = [[NOW - 300 - 10 * i, 0] for i in range(6)]
    verdict = sig.held_consecutive(series(samples, "health_ok"), NOW, FAILING, 4, 60)
    assert (verdict["state"], verdict["note"]) == (sig.INCONCLUSIVE, "stale: the newest sample is 5m old (allowed: 1m)")


# --- probes ---------------------------------------------------------------------------------------

def _round(when, *checks):
    return {"time": when, "checks": [{"ok": ok, "latency_ms": ms} for ok, ms in checks]}


def test_probe_statistics():
    rounds = [
        _round(NOW - 40, (True, 10), (True, 30)),
        _round(NOW - 30, (True, 20), (False, 500)),
        _round(NOW - 20, (True, 40), (True, 50)),
        _round(NOW - 10, (False, None), (False, 600)),
        _round(NOW, (False, None), (True, 60)),
    ]
    stats, signals = sig.probe_statistics(rounds)
    assert stats == {
        "requests": 10, "failures": 4, "error_rate_pct": 40.0, "availability_pct": 40.0,
        "latency_avg_ms": 163.75, "latency_p50_ms": 40, "latency_p95_ms": 600,
        "consecutive_failures": 2, "max_consecutive_failures": 2,
    }
    assert signals["health_ok"] == [[NOW - 40, 1], [NOW - 30, 0], [NOW - 20, 1], [NOW - 10, 0], [NOW, 0]]
    assert signals["error_rate_pct"] == [[NOW - 40, 0.0], [NOW - 30, 50.0], [NOW - 20, 0.0], [NOW - 10, 100.0],
                                         [NOW, 50.0]]
    assert signals["availability_pct"] == [[NOW - 40, 100.0], [NOW - 30, 0.0], [NOW - 20, 100.0], [NOW - 10, 0.0],
                                           [NOW, 0.0]]
    assert signals["latency_avg_ms"][1] == [NOW - 30, 260.0]
    assert signals["latency_p95_ms"][3] == [NOW - 10, 600]
    assert sig.normalize_signals(signals)  # canonical names, valid samples


def test_probe_statistics_without_answers():
    stats, signals = sig.probe_statistics([_round(NOW, (False, None))])
    assert stats["latency_avg_ms"] is None and stats["latency_p95_ms"] is None
    assert signals["latency_avg_ms"] == [] and stats["availability_pct"] == 0.0


@pytest.mark.parametrize("values, pct, expected", [
    ([5], 95, 5), (list(range(1, 101)), 95, 95), (list(range(1, 101)), 50, 50), ([3, 1, 2], 50, 2), ([1, 2], 95, 2),
])
def test_percentile_is_nearest_rank(values, pct, expected):
    assert sig.percentile(values, pct) == expected


# --- Prometheus responses -------------------------------------------------------------------------

def _matrix(*series_values):
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"job": "app%d" % i}, "values": values} for i, values in enumerate(series_values)]}}


def test_query_range_url():
    url = sig.query_range_url("http://127.0.0.1:9090/", 'sum(rate(x{code="500"}[1m]))', 100, 400, 15)
    base, query = url.split("?")
    assert base == "http://127.0.0.1:9090/api/v1/query_range"
    assert urllib.parse.parse_qs(query) == {"query": ['sum(rate(x{code="500"}[1m]))'], "start": ["100.000"],
                                            "end": ["400.000"], "step": ["15s"]}


def test_parse_query_range():
    body = json.dumps(_matrix([[100, "1.5"], [115, "NaN"], [130, "+Inf"]])).encode()
    samples = sig.parse_query_range("error_rate_pct", body)
    assert samples[0] == [100.0, 1.5] and samples[1][1] != samples[1][1] and samples[2] == [130.0, float("inf")]
    assert sig.parse_query_range("error_rate_pct", _matrix()) == []


@pytest.mark.parametrize("body, match", [
    (_matrix([[1, "1"]], [[1, "2"]]), r"returned 2 series .*aggregate it"),
    ({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"},
     r"rejected the query \(bad_data\): parse error at char 5"),
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    ({"status": "success", "data": {"resultType": "vector", "result": []}}, "resultType matrix"),
    ({"data": []}, "not a Prometheus API response"),
    (_matrix([[1, "x"]]), "malformed samples"),
])
def test_parse_query_range_refuses(body, match):
    with pytest.raises(sig.SignalError, match="^latency_p95_ms: .*" + match):
        sig.parse_query_range("latency_p95_ms", body)


# --- the modules against real local servers --------------------------------------------------------

class _Server:
    """A threaded HTTP server on 127.0.0.1; handler(path) -> (status, body bytes)."""

    def __init__(self, handler):
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                status, body = handler(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def make(handler):
        servers.append(_Server(handler))
        return servers[-1]
    yield make
    for one in servers:
        one.close()


def test_health_probe_counts_failures_and_latency(run, server):
    web = server(lambda path: (200, b"ok") if path == "/health" else (503, b"down"))
    result, _ = run(health_probe, urls=[web.url + "/health", web.url + "/login"], count=3, window="0.4s",
                    check_mode=True)
    assert result["changed"] is False
    assert result["stats"]["requests"] == 6 and result["stats"]["failures"] == 3
    assert result["stats"]["error_rate_pct"] == 50.0 and result["stats"]["availability_pct"] == 0.0
    assert result["stats"]["consecutive_failures"] == 3
    assert [s[1] for s in result["signals"]["health_ok"]] == [0, 0, 0]
    assert [c["status"] for c in result["checks"]] == [200, 503] * 3
    assert web.requests == ["/health", "/login"] * 3
    times = [s[0] for s in result["signals"]["health_ok"]]
    assert times[1] - times[0] >= 0.19 and times[2] - times[0] >= 0.39  # spread over the window


def test_health_probe_unreachable_endpoint(run):
    result, _ = run(health_probe, urls=["http://127.0.0.1:9/health"], count=1, timeout=2)
    check = result["checks"][0]
    assert (check["ok"], check["status"], check["latency_ms"]) == (False, -1, None)
    assert result["stats"]["availability_pct"] == 0.0 and result["stats"]["latency_avg_ms"] is None


@pytest.mark.parametrize("args, match", [
    ({"urls": []}, "urls is empty"),
    ({"urls": ["http://127.0.0.1:9/"], "count": 0}, "count must be at least 1"),
    ({"urls": ["http://127.0.0.1:9/"], "window": "soon"}, "window: expected a duration"),
])
def test_health_probe_refuses_bad_input(run, args, match):
    result, _ = run(health_probe, **args)
    assert result["failed"] and result["msg"].startswith("REWIND-E-INPUT: ") and match in result["msg"]


def _prometheus(path):
    query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
    if query["query"] == ["up"]:
        start, step = float(query["start"][0]), float(query["step"][0].rstrip("s"))
        return 200, json.dumps(_matrix([[start + i * step, "1"] for i in range(3)])).encode()
    return 400, json.dumps({"status": "error", "errorType": "bad_data", "error": "unknown function"}).encode()


def test_prometheus_signals_reads_the_window(run, server):
    prom = server(_prometheus)
    result, _ = run(prometheus_signals, url=prom.url, queries={"health_ok:web": "up"}, window="1m", step="30s",
                    end=NOW, check_mode=True)
    assert result["signals"] == {"health_ok:web": [[NOW - 60, 1.0], [NOW - 30, 1.0], [NOW, 1.0]]}
    assert (result["start"], result["end"], result["step"]) == (NOW - 60, NOW, 30.0)
    assert prom.requests[0].startswith("/api/v1/query_range?")


@pytest.mark.parametrize("queries, match", [
    ({"error_rate_pct": "nonsense()"}, r"REWIND-E-INPUT: error_rate_pct: Prometheus rejected the query \(bad_data\)"),
    ({"errors": "up"}, r"REWIND-E-INPUT: queries: unknown metric 'errors'; accepted: error_rate_pct"),
    ({"cpu_pct": ""}, r"queries.cpu_pct: expected a PromQL expression"),
])
def test_prometheus_signals_refuses(run, server, queries, match):
    prom = server(_prometheus)
    result, _ = run(prometheus_signals, url=prom.url, queries=queries)
    assert result["failed"]
    assert re.search(match, result["msg"]), result["msg"]


def test_prometheus_signals_unreachable(run):
    result, _ = run(prometheus_signals, url="http://127.0.0.1:9", queries={"cpu_pct": "up"}, timeout=2)
    assert result["failed"] and result["msg"].startswith("cannot reach Prometheus at http://127.0.0.1:9 for cpu_pct")


def test_prometheus_signals_not_prometheus(run, server):
    web = server(lambda path: (404, b"<html>not found</html>"))
    result, _ = run(prometheus_signals, url=web.url, queries={"cpu_pct": "up"})
    assert result["failed"] and "answered HTTP 404 for cpu_pct" in result["msg"]
