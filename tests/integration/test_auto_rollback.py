# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``rollback.yml -e level=auto`` end to end: a real WordPress host, real Prometheus, the real playbook.

One WordPress container (r1 set up and backed up with prepare.yml). Inside it, curl requests the
home page every 0.2 s (to the container's own localhost, through ``docker exec``); the test counts
the answers and serves them on 127.0.0.1 as Prometheus counters; Debian's Prometheus, also on
127.0.0.1, scrapes them every second. ``rollback.yml -e level=auto`` reads the error rate from
Prometheus and decides with a test policy (``wordpress`` with second-long windows, its error-rate
rule at level full, at most one automatic rollback an hour), then:

- r1 healthy: ``monitor``; the play stops with REWIND-NOROLLBACK before the lock, nothing changed;
- the broken r2 deployed (the home page answers 500): ``rollback_now`` at level full, and the host
  is rolled back: tables, schema, tree, crontab and modes equal the pre-deployment capture;
- r2 deployed again: the decision is still ``rollback_now``, but the loop guard, fed from the
  host's release ledger, blocks it (the rollback just made, r2 marked bad): REWIND-NOROLLBACK,
  nothing changed.

The states are captured by playbooks/demo/files/capture_state.py, as in test_wordpress.py.
"""

import http.server
import json
import subprocess
import threading

import pytest

from _prometheus import held, running_prometheus, wait_for

SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
LEDGER = "/var/lib/rewind/demo/releases.json"     # rewind_state_dir of inventories/demo (rewind_app: demo)
HOSTNAME = "autowp"
ERROR_RATE = "100 * sum(rate(site_errors_total[5s])) / sum(rate(site_requests_total[5s]))"
WINDOW_S = 6

POLICY = """\
extends: wordpress
description: wordpress, with windows of seconds and an error-rate rule at level full, for a live test
evidence:
  min_samples: 5
  max_gap: 10s
loop_guard:
  max_automatic: 1
  within: 1h
triggers:
  - id: error_rate
    description: Error rate above 10 %% for %(window)d seconds
    metric: error_rate_pct
    above: 10
    for: %(window)ds
    severity: critical
    level: full
""" % {"window": WINDOW_S}


class SiteTraffic:
    """The home page of the host requested every 0.2 s from inside it; the answers as metrics on 127.0.0.1.

    A status of 500 or more, or none (Apache stopped, a timeout), counts as an error.
    """

    STOP = "/tmp/rewind-traffic.stop"
    LOOP = ("rm -f %s; while [ ! -e %s ]; do curl -s -o /dev/null -w '%%{http_code}\\n' --max-time 5 "
            "http://localhost/; sleep 0.2; done" % (STOP, STOP))

    def __init__(self, host):
        self.host, self.proc, self.reader = host, None, None
        self.requests = self.errors = 0
        self.lock = threading.Lock()
        traffic = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with traffic.lock:
                    body = ("# TYPE site_requests_total counter\nsite_requests_total %d\n"
                            "# TYPE site_errors_total counter\nsite_errors_total %d\n"
                            % (traffic.requests, traffic.errors)).encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.target = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.server = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1})
        self.server.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, ""):
            code = int(line.strip() or 0)
            with self.lock:
                self.requests += 1
                self.errors += code >= 500 or code == 0

    def start(self):
        self.proc = subprocess.Popen(["docker", "exec", self.host.name, "bash", "-c", self.LOOP],
                                     stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read)
        self.reader.start()

    def pause(self):
        """Stop requesting (the loop in the host sees the stop file) and wait until it has."""
        if self.proc is None:
            return
        self.host.sh("touch %s" % self.STOP)
        self.proc.wait(timeout=60)
        self.reader.join()
        self.proc = None

    def close(self):
        try:
            self.pause()
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.server.join()


@pytest.fixture(scope="module")
def site(host_factory):
    host = host_factory("rewind-it-auto-wp", HOSTNAME, "wordpress")
    host.capture = CAPTURE
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert host.play(playbook, *args).returncode == 0, playbook
    host.sh("systemctl stop cron")  # wp-cron writes the database on its own schedule (test_wordpress.py)
    host.good = host.state()
    host.traffic = SiteTraffic(host)
    try:
        with running_prometheus(host.traffic.target) as url:
            host.prometheus = url
            host.traffic.start()
            yield host
    finally:
        host.traffic.close()


def auto_rollback(host, tmp_path):
    """rollback.yml -e level=auto, deciding from Prometheus; returns (process, decision)."""
    policy = tmp_path / "auto-wp.yml"
    policy.write_text(POLICY)
    decision_file = tmp_path / "decision.json"
    extra = {
        "rewind_policy": str(policy),
        "rewind_prometheus_url": host.prometheus,
        "rewind_prometheus_queries": {"error_rate_pct": ERROR_RATE},
        "rewind_prometheus_window": "20s",
        "rewind_prometheus_step": "1s",
        "rewind_decision_file": str(decision_file),
    }
    proc = host.play("playbooks/rollback.yml", "-e", "level=auto", "-e", json.dumps(extra))
    assert decision_file.exists(), "the playbook wrote no decision"
    return proc, json.loads(decision_file.read_text())


def wait_for_error_rate(host, comparison):
    wait_for(lambda: held(host.prometheus, ERROR_RATE, comparison, WINDOW_S + 2), 120,
             "%ds of error rate %s in Prometheus" % (WINDOW_S + 2, comparison))


def deploy_bad(host):
    assert host.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad").returncode == 0


def error_rate(decision):
    return next(t for t in decision["triggers"] if t["id"] == "error_rate")


def ledger(host):
    return json.loads(host.sh("cat %s" % LEDGER))


def home_page(host):
    out = host.sh("curl -s -o /tmp/body -w '%{http_code}' http://localhost/; echo; cat /tmp/body")
    code, _, body = out.partition("\n")
    return int(code), body


LOCKED = "TASK [Take the application lock]"


def test_healthy_signals_do_not_roll_back(site, tmp_path):
    wait_for_error_rate(site, "< 10")
    before = site.state()
    proc, decision = auto_rollback(site, tmp_path)
    assert (decision["decision"], decision["rollback"], decision["level"]) == ("monitor", False, None)
    assert error_rate(decision)["state"] == "clear"
    assert len(error_rate(decision)["observed"]) >= 5 and max(v for _, v in error_rate(decision)["observed"]) < 10
    assert proc.returncode == 2
    assert "REWIND-NOROLLBACK: not rolling back: monitor: no trigger fired" in proc.stdout
    assert LOCKED not in proc.stdout, "the run stopped before it touched the host"
    assert site.state() == before


def test_errors_roll_back_at_the_decided_level(site, tmp_path):
    deploy_bad(site)
    wait_for_error_rate(site, "> 10")
    assert site.state()["tree"] != site.good["tree"]
    proc, decision = auto_rollback(site, tmp_path)
    assert (decision["decision"], decision["rollback"], decision["level_name"]) == ("rollback_now", True, "full")
    assert error_rate(decision)["state"] == "fired" and min(v for _, v in error_rate(decision)["observed"]) > 10
    assert decision["blocked_by"] == []
    assert not [r for r in decision["reasons"] if r.startswith("Loop guard")], \
        "the loop guard was checked against the ledger (r2 live, r1 good, no rollback yet)"
    assert proc.returncode == 0 and LOCKED in proc.stdout
    assert "Decision (policy auto-wp): rollback_now: roll back now at level 5 (full) (trigger error_rate)" in proc.stdout

    site.traffic.pause()  # so that nothing requests the site while its state is captured
    try:
        after = site.state()
        assert after["tables"] == site.good["tables"], "CHECKSUM TABLE of every table equals its pre-deploy value"
        assert after["schema"] == site.good["schema"]
        assert after["tree"] == site.good["tree"]
        assert after["crontab"] == site.good["crontab"]
        assert after["modes"] == site.good["modes"]
        code, body = home_page(site)
        assert code == 200 and "<title>Rewind Demo" in body
    finally:
        site.traffic.start()
    events = [e for e in ledger(site)["events"] if e["action"] == "rollback"]
    assert [(e["previous"], e["release"]) for e in events] == [("r2", "r1")]
    assert {r["id"]: r["bad"] for r in ledger(site)["releases"]} == {"r1": False, "r2": True}


def test_the_loop_guard_stops_the_next_automatic_rollback(site, tmp_path):
    deploy_bad(site)
    wait_for_error_rate(site, "> 10")
    before = site.state()
    proc, decision = auto_rollback(site, tmp_path)
    assert (decision["decision"], decision["level_name"], decision["rollback"]) == ("rollback_now", "full", False)
    assert decision["blocked_by"] == [
        "1 automatic rollbacks in the last 1h (limit 1): a person decides the next one.",
        "No release before r1 that is not marked bad: nowhere to roll back to automatically.",
    ]
    assert proc.returncode == 2
    assert ("REWIND-NOROLLBACK: not rolling back: rollback_now: roll back now at level 5 (full) (trigger error_rate), "
            "but the loop guard blocks an automatic rollback: 1 automatic rollbacks in the last 1h") in proc.stdout
    assert LOCKED not in proc.stdout
    site.traffic.pause()
    assert site.state() == before
    assert len([e for e in ledger(site)["events"] if e["action"] == "rollback"]) == 1
