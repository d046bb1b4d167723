#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_signals
short_description: Read decision signals from Prometheus over a time window
version_added: 0.1.0
description:
  - Runs one Prometheus range query (C(/api/v1/query_range)) per metric over the O(window) ending at O(end) and
    returns the samples as C(signals) for M(rewind.rollback.decide).
  - Each query must return a single series; aggregate with C(sum(...)) or C(max(...)) otherwise. A query that
    returns nothing gives an empty list, which the decision reads as no data (inconclusive, never a rollback).
  - Only reads.
author: rewind developers (@rewind)
options:
  url:
    description: The Prometheus server, for example C(http://prometheus.example.com:9090).
    type: str
    required: true
  queries:
    description:
      - Canonical metric name (as in M(rewind.rollback.decide)'s O(rewind.rollback.decide#module:signals), optionally
        qualified, such as C(health_ok:auth)) to the PromQL expression giving it.
      - Units matter, as the policies' thresholds use them; percentages are 0-100, latencies milliseconds.
    type: dict
    required: true
  window:
    description:
      - How far back to read, as a duration (V(15m), V(1h)) or seconds. Cover the longest rule of the policy
        plus its allowed gap, or the decision stays inconclusive.
    type: str
    default: 15m
  step:
    description: The spacing of the samples, as a duration (V(15s)) or seconds.
    type: str
    default: 15s
  end:
    description: The unix time the window ends at. Default now.
    type: float
  timeout:
    description: Seconds to wait for each query.
    type: float
    default: 10
  validate_certs:
    description: Whether to verify the server's TLS certificate.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.decide
  - name: Prometheus range queries
    description: The HTTP API this module calls.
    link: https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries
"""

EXAMPLES = r"""
- name: Read the shop's error rate, p95 latency and memory over the last 15 minutes
  rewind.rollback.prometheus_signals:
    url: http://prometheus.example.com:9090
    queries:
      error_rate_pct: >-
        100 * sum(rate(http_requests_total{job="shop",code=~"5.."}[1m]))
        / sum(rate(http_requests_total{job="shop"}[1m]))
      latency_p95_ms: >-
        1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop"}[1m])))
      memory_pct: >-
        100 * (1 - avg(node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"}))
    window: 15m
  delegate_to: localhost
  register: prometheus

- name: Decide from them
  rewind.rollback.decide:
    policy: generic
    signals: "{{ prometheus.signals }}"
  delegate_to: localhost
  register: decision
"""

RETURN = r"""
signals:
  description: Metric name to its samples C([unix_time, value]), oldest first.
  returned: always
  type: dict
  sample:
    error_rate_pct: [[1767225000.0, 0.4], [1767225015.0, 12.5]]
start:
  description: The unix time the window starts at.
  returned: always
  type: float
  sample: 1767224700.0
end:
  description: The unix time the window ends at.
  returned: always
  type: float
  sample: 1767225600.0
step:
  description: The spacing of the samples, in seconds.
  returned: always
  type: float
  sample: 15.0
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._signals import (
    SignalError, check_metric, parse_duration, parse_query_range, query_range_url)


def _query(module, metric, query, start, end, step):
    url = query_range_url(module.params["url"], query, start, end, step)
    response, info = fetch_url(module, url, timeout=module.params["timeout"], force=True)
    if info["status"] == -1:
        module.fail_json(msg="cannot reach Prometheus at %s for %s: %s. Check the url and that Prometheus is running "
                             "and listening there." % (module.params["url"], metric, info.get("msg")))
    try:
        body = response.read() if info["status"] < 400 else info.get("body") or b""
    except OSError as exc:
        module.fail_json(msg="reading the answer of Prometheus at %s for %s failed: %s. Retry; if it persists, "
                             "check the server's logs." % (module.params["url"], metric, exc))
    if info["status"] >= 400 and not body.lstrip().startswith(b"{"):
        module.fail_json(msg="Prometheus at %s answered HTTP %s for %s: %s. Is this the Prometheus server's URL?"
                             % (module.params["url"], info["status"], metric, info.get("msg")))
    return parse_query_range(metric, body)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            queries=dict(type="dict", required=True),
            window=dict(type="str", default="15m"),
            step=dict(type="str", default="15s"),
            end=dict(type="float"),
            timeout=dict(type="float", default=10),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    end = time.time() if params["end"] is None else params["end"]
    try:
        window = parse_duration(params["window"], "window")
        step = parse_duration(params["step"], "step")
        for metric, query in params["queries"].items():
            check_metric(metric, "queries")
            if not isinstance(query, str) or not query.strip():
                raise SignalError("queries.%s: expected a PromQL expression, got %r" % (metric, query))
        signals = {metric: _query(module, metric, query, end - window, end, step)
                   for metric, query in params["queries"].items()}
    except SignalError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    module.exit_json(changed=False, signals=signals, start=end - window, end=end, step=step)


if __name__ == "__main__":
    main()
