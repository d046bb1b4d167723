# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Prometheus (Debian's package) on 127.0.0.1, scraping one target every second.

Shared by the decision tests (test_prometheus_decide.py, test_auto_rollback.py). Needs
``apt-get install -y --no-install-recommends prometheus``; without it the tests fail, never skip.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(0.5)


@contextlib.contextmanager
def running_prometheus(target):
    """Prometheus scraping ``target`` (``127.0.0.1:<port>``) every second; yields its URL."""
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.fail("%s is missing: install Debian's Prometheus with "
                    "'apt-get install -y --no-install-recommends prometheus'" % PROMETHEUS)
    workdir = tempfile.mkdtemp(prefix="rewind-prometheus-")
    config = os.path.join(workdir, "prometheus.yml")
    with open(config, "w") as handle:
        handle.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                     "scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['%s']\n" % target)
    url = "http://127.0.0.1:%d" % free_port()
    with open(os.path.join(workdir, "prometheus.log"), "w") as log:
        proc = subprocess.Popen([PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + workdir + "/data",
                                 "--web.listen-address=" + url.split("//")[1], "--log.level=warn"],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: urllib.request.urlopen(url + "/-/ready", timeout=1).status == 200, 30, "Prometheus ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def instant(prometheus, query):
    """Prometheus' own answer to an instant query, as a float (None without data)."""
    url = "%s/api/v1/query?%s" % (prometheus, urllib.parse.urlencode({"query": query}))
    result = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def held(prometheus, expression, comparison, seconds):
    """Has ``expression`` met ``comparison`` (e.g. '> 10') at every second of the last ``seconds``?"""
    value = instant(prometheus, "count_over_time(((%s) %s)[%ds:1s])" % (expression, comparison, seconds))
    return value is not None and value >= seconds
