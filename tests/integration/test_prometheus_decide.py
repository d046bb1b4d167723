# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decision from real signals: a real Prometheus scraping a real web app, the real playbook.

A small HTTP app on 127.0.0.1 serves ``/`` and ``/health`` and exposes request and error counters
on ``/metrics``; a thread keeps requesting ``/``. Debian's Prometheus scrapes it every second.
``ansible-playbook playbooks/decide.yml`` then reads the error rate from Prometheus, probes
``/health`` with rewind.rollback.health_probe and decides with a test policy that extends
``generic`` with second-long windows. With the gate on (as ``rollback.yml -e level=auto``):

- healthy traffic: the decision is ``monitor`` and the play stops with REWIND-NOROLLBACK;
- the app answering 500: ``rollback_now`` at level code, and the play goes on.

Needs Debian's Prometheus: ``apt-get install -y --no-install-recommends prometheus``. Without it
the test fails, it does not skip.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest

from _prometheus import free_port, held, running_prometheus, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ERROR_RATE = "100 * sum(rate(app_errors_total[5s])) / sum(rate(app_requests_total[5s]))"
WINDOW_S = 6

POLICY = """\
extends: generic
description: generic, with windows of seconds for a test against a live Prometheus
evidence:
  min_samples: 5
  max_gap: 10s
triggers:
  - id: error_rate
    description: Error rate above 10 %% for %(window)d seconds
    metric: error_rate_pct
    above: 10
    for: %(window)ds
    severity: critical
    level: code
  - id: health_checks
    description: 3 consecutive health-check failures
    metric: health_ok
    below: 1
    consecutive: 3
    severity: critical
    level: code
""" % {"window": WINDOW_S}


class App:
    """The web app: answers 200, or 500 once failing is set; counts requests and errors on /."""

    def __init__(self):
        self.failing = False
        self.requests = self.errors = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status = 500 if app.failing else 200
                if self.path == "/metrics":
                    with app.lock:
                        body = ("# TYPE app_requests_total counter\napp_requests_total %d\n"
                                "# TYPE app_errors_total counter\napp_errors_total %d\n" % (app.requests, app.errors))
                    status = 200
                elif self.path == "/":
                    with app.lock:
                        app.requests += 1
                        app.errors += status == 500
                    body = "error\n" if status == 500 else "ok\n"
                else:
                    body = "unhealthy\n" if status == 500 else "healthy\n"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.threads = [threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}),
                        threading.Thread(target=self._traffic)]
        for thread in self.threads:
            thread.start()

    def _traffic(self):
        while not self.stopped.wait(0.02):
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
            except OSError:  # the 500s, as urllib raises them
                pass

    def stop(self):
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self.threads:
            thread.join()


@pytest.fixture(scope="module")
def app():
    one = App()
    yield one
    one.stop()


@pytest.fixture(scope="module")
def prometheus(app):
    with running_prometheus(app.url.split("//")[1]) as url:
        yield url


def _held(prometheus, comparison):
    """Has the error rate met comparison (e.g. '> 10') at every second of the last window + 2 s?"""
    return held(prometheus, ERROR_RATE, comparison, WINDOW_S + 2)


def _decide(prometheus, app, tmp_path):
    policy = tmp_path / "live.yml"
    policy.write_text(POLICY)
    decision_file = tmp_path / "decision.json"
    extra = {
        "rewind_policy": str(policy),
        "rewind_prometheus_url": prometheus,
        "rewind_prometheus_queries": {"error_rate_pct": ERROR_RATE},
        "rewind_prometheus_window": "20s",
        "rewind_prometheus_step": "1s",
        "rewind_probe_urls": [app.url + "/health"],
        "rewind_probe_count": 3,
        "rewind_probe_window": "1s",
        "rewind_decision_file": str(decision_file),
        "rewind_decide_gate": True,
    }
    proc = _playbook(extra)
    assert decision_file.exists(), "the playbook wrote no decision"
    return proc, json.loads(decision_file.read_text())


def _playbook(extra):
    """ansible-playbook playbooks/decide.yml on the controller, with the test's Python."""
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "playbooks/decide.yml", "-e",
                           json.dumps(dict(extra, ansible_python_interpreter=sys.executable))],
                          cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    print(proc.stdout[-8000:], proc.stderr[-2000:])
    return proc


def _trigger(decision, trigger_id):
    return next(t for t in decision["triggers"] if t["id"] == trigger_id)


def test_healthy_traffic_does_not_roll_back(prometheus, app, tmp_path):
    wait_for(lambda: _held(prometheus, "< 10"), 60, "%ds of healthy data in Prometheus" % (WINDOW_S + 2))
    proc, decision = _decide(prometheus, app, tmp_path)
    assert (decision["decision"], decision["rollback"], decision["level"]) == ("monitor", False, None)
    assert _trigger(decision, "error_rate")["state"] == "clear"
    assert _trigger(decision, "health_checks")["state"] == "clear"
    assert max(v for _, v in _trigger(decision, "error_rate")["observed"]) < 10
    assert proc.returncode == 2
    assert "REWIND-NOROLLBACK: not rolling back: monitor: no trigger fired" in proc.stdout


def test_errors_roll_back_at_level_code(prometheus, app, tmp_path):
    app.failing = True
    try:
        wait_for(lambda: _held(prometheus, "> 10"), 60, "%ds of errors in Prometheus" % (WINDOW_S + 2))
        proc, decision = _decide(prometheus, app, tmp_path)
    finally:
        app.failing = False
    assert (decision["decision"], decision["rollback"], decision["level_name"]) == ("rollback_now", True, "code")
    error_rate = _trigger(decision, "error_rate")
    assert error_rate["state"] == "fired" and min(v for _, v in error_rate["observed"]) > 10
    assert len(error_rate["observed"]) >= 5
    assert _trigger(decision, "health_checks")["state"] == "fired"
    assert proc.returncode == 0, "the gate stopped a rollback the decision called for"
    assert "not rolling back" not in proc.stdout
    assert "Decision (policy live): rollback_now: roll back now at level 3 (code)" in proc.stdout


def test_an_unreachable_prometheus_fails_clearly():
    url = "http://127.0.0.1:%d" % free_port()
    proc = _playbook({"rewind_prometheus_url": url, "rewind_prometheus_queries": {"error_rate_pct": ERROR_RATE}})
    assert proc.returncode == 2
    assert "cannot reach Prometheus at %s for error_rate_pct" % url in proc.stdout


def test_bad_input_is_tagged_for_the_cli():
    proc = _playbook({"rewind_incident": {"issue_type": "bug", "severity": "high"}})
    assert proc.returncode == 2
    assert "REWIND-E-INPUT: value of issue_type must be one of: functional, performance" in proc.stdout
