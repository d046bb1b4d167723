#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health_probe
short_description: Probe HTTP endpoints repeatedly over a window and report error rate, availability and latency
version_added: 0.1.0
description:
  - Sends O(count) rounds of C(GET) requests, evenly spread over O(window), each round requesting every URL in
    O(urls) once. A request fails when it gets no answer within O(timeout) or its status is not in O(status_code).
  - Returns the statistics of all requests (error rate, availability, average, median and 95th percentile latency,
    consecutive failed rounds at the end) and the same as C(signals) for M(rewind.rollback.decide), one sample per
    round, named as decision policies name them.
  - Only reads; the endpoints see ordinary C(GET) requests.
author: rewind developers (@rewind)
options:
  urls:
    description: The endpoints to probe, for example C(https://shop.example.com/health).
    type: list
    elements: str
    required: true
  count:
    description: How many rounds to probe. The decision needs enough of them to cover a rule's window or count.
    type: int
    default: 5
  window:
    description:
      - How long to spread the rounds over, as a duration (V(30s), V(2m)) or seconds. The first round starts at once,
        the last one O(window) later. Ignored when O(count=1).
    type: str
    default: 10s
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 5
  status_code:
    description: The statuses that count as a passing check.
    type: list
    elements: int
    default: [200]
  validate_certs:
    description: Whether to verify TLS certificates. Turn it off only for self-signed test endpoints.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Probing changes nothing, so it probes in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.decide
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Probe the shop's health and login pages 12 times over a minute
  rewind.rollback.health_probe:
    urls:
      - https://shop.example.com/health
      - https://shop.example.com/login
    count: 12
    window: 1m
  delegate_to: localhost
  register: probe

- name: Decide from what the probe saw
  rewind.rollback.decide:
    policy: laravel
    signals: "{{ probe.signals }}"
  delegate_to: localhost
  register: decision
"""

RETURN = r"""
stats:
  description:
    - C(requests) and C(failures) counted over all rounds; C(error_rate_pct), the failed share of requests;
      C(availability_pct), the share of rounds in which every URL passed; C(latency_avg_ms), C(latency_p50_ms),
      C(latency_p95_ms) over every answered request (null without answers); C(consecutive_failures), failed
      rounds at the end; C(max_consecutive_failures), the longest run of failed rounds.
  returned: always
  type: dict
  sample:
    requests: 24
    failures: 6
    error_rate_pct: 25.0
    availability_pct: 50.0
    latency_avg_ms: 41.2
    latency_p50_ms: 12.9
    latency_p95_ms: 230.4
    consecutive_failures: 3
    max_consecutive_failures: 3
signals:
  description:
    - One sample C([unix_time, value]) per round of C(health_ok) (1 when every URL passed, else 0),
      C(error_rate_pct), C(availability_pct), and for rounds with answers C(latency_avg_ms) and C(latency_p95_ms).
  returned: always
  type: dict
  sample:
    health_ok: [[1767225600.01, 1], [1767225605.02, 0]]
    error_rate_pct: [[1767225600.01, 0.0], [1767225605.02, 50.0]]
checks:
  description: Every request, with C(time), C(url), C(status) (-1 without an answer), C(ok), C(latency_ms) and C(error).
  returned: always
  type: list
  elements: dict
  sample:
    - time: 1767225605.02
      url: https://shop.example.com/login
      status: 502
      ok: false
      latency_ms: 230.4
      error: "HTTP Error 502: Bad Gateway"
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._signals import (
    SignalError, parse_duration, probe_statistics)


def _check(module, url):
    started = time.time()
    response, info = fetch_url(module, url, timeout=module.params["timeout"], force=True)
    status, error = info["status"], info.get("msg")
    if response is not None and status < 400:
        try:
            response.read()
        except OSError as exc:  # the connection broke while the body came
            status, error = -1, "reading the answer failed: %s" % exc
    latency_ms = round((time.time() - started) * 1000.0, 3)
    ok = status in module.params["status_code"]
    return {"time": started, "url": url, "status": status, "ok": ok,
            "latency_ms": latency_ms if status > 0 else None, "error": None if ok else error}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            urls=dict(type="list", elements="str", required=True),
            count=dict(type="int", default=5),
            window=dict(type="str", default="10s"),
            timeout=dict(type="float", default=5),
            status_code=dict(type="list", elements="int", default=[200]),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["urls"]:
        module.fail_json(msg=tagged(INPUT, "urls is empty: give at least one endpoint to probe"))
    if params["count"] < 1:
        module.fail_json(msg=tagged(INPUT, "count must be at least 1, got %d" % params["count"]))
    try:
        window = parse_duration(params["window"], "window")
    except SignalError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    interval = window / (params["count"] - 1) if params["count"] > 1 else 0.0

    start, rounds, checks = time.time(), [], []
    for index in range(params["count"]):
        time.sleep(max(0.0, start + index * interval - time.time()))
        round_checks = [_check(module, url) for url in params["urls"]]
        rounds.append({"time": round_checks[0]["time"], "checks": round_checks})
        checks += round_checks
    stats, signals = probe_statistics(rounds)
    module.exit_json(changed=False, stats=stats, signals=signals, checks=checks)


if __name__ == "__main__":
    main()
