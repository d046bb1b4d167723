#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: decide
short_description: Decide whether and how far to roll back, from signals, an incident and a policy
version_added: 0.1.0
description:
  - Judges metric signals and an optional incident report against a decision policy (the rollback
    plans' triggers, decision matrix, escalation and RTO/RPO tables as data, see C(policies/README.md))
    and returns one decision (V(rollback_now), V(rollback_if_fix_exceeds), V(fix_forward), V(monitor) or
    V(inconclusive)), the rollback level, the triggers it judged and its reasons in sentences.
  - A metric rule fires only when its condition held for its whole window (or for its count of consecutive
    samples). Too few samples, gaps or stale data make the rule inconclusive, never a rollback.
  - A loop guard refuses an automatic rollback to a release the ledger marks bad, and more automatic
    rollbacks within the policy's window than its limit. RV(rollback) is then false and RV(blocked_by) says why.
  - The policy is read on the controller by the module's action plugin, which passes its data to the module,
    so policy files never need to exist on the managed host. Run it on the controller (a play on C(localhost),
    or C(delegate_to=localhost)), where the signals are gathered.
  - The module changes nothing. The same decision is available to templates as the
    P(rewind.rollback.decide#filter) filter.
author: rewind developers (@rewind)
options:
  policy:
    description:
      - The policy, by name or by path to a policy file (absolute, or relative to the playbook).
      - A name is a file C(<name>.yml) in O(policy_paths) or in the collection's C(policies/), which holds
        V(generic), V(laravel), V(chatbot), V(wordpress) and V(django).
    type: str
    default: generic
  policy_paths:
    description:
      - Directories searched for a policy given by name, before the collection's C(policies/). Relative paths
        are relative to the playbook. Read by the action plugin on the controller.
    type: list
    elements: path
    default: []
  signals:
    description:
      - Metric name to its samples, each a C([unix_time, value]) pair, in any order. V(NaN) values count as no data.
      - Names are the canonical C(error_rate_pct), C(availability_pct), C(latency_avg_ms), C(latency_p95_ms),
        C(memory_pct), C(cpu_pct), C(health_ok) (1 or 0 per check) and C(db_pool_exhausted) (1 or 0),
        optionally qualified after a colon (C(health_ok:auth)). Any other name fails, listing these.
      - The C(signals) returned by M(rewind.rollback.health_probe) and M(rewind.rollback.prometheus_signals)
        have this shape; combine them with P(ansible.builtin.combine#filter).
    type: dict
    default: {}
  incident:
    description: What a person (or the deployment) reports about the issue. Omit it to decide from signals alone.
    type: dict
    suboptions:
      issue_type:
        description: The kind of issue.
        type: str
        required: true
        choices: [functional, performance, security, data, outage, ui]
      severity:
        description: How severe it is.
        type: str
        required: true
        choices: [critical, high, medium, low]
      impact_pct:
        description: Share of users affected, 0-100. Unknown counts as meeting every matrix row's impact.
        type: float
      time_to_fix_min:
        description:
          - Minutes a fix forward is expected to take. It settles V(rollback_if_fix_exceeds) into V(rollback_now)
            (longer than the deadline) or V(fix_forward).
        type: float
  history:
    description:
      - The release history for the loop guard. Without it the guard is not checked, and the reasons say so.
    type: dict
    suboptions:
      releases:
        description:
          - The release ledger's entries, oldest first, each with C(id) and C(bad) (other keys are ignored),
            as M(rewind.rollback.release_info) returns them in RV(rewind.rollback.release_info#module:releases).
        type: list
        elements: dict
      current:
        description:
          - The live release. Without O(history.target), the rollback target is the newest release before it
            that is not marked bad.
        type: str
      target:
        description: The release the rollback would go to.
        type: str
      rollbacks:
        description:
          - Past rollbacks, each with C(time) (unix time or ISO-8601) and C(automatic) (default V(true));
            manual ones (C(automatic=false)) do not count against the limit.
        type: list
        elements: dict
  service:
    description:
      - The service whose RTO and RPO the result reports, a key of the policy's C(services).
      - Default the policy's C(default_service).
    type: str
  now:
    description: The unix time to judge at. Default the time the module runs.
    type: float
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin reads the policy on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The result leaves out C(invocation), the echo of the module's arguments, as they hold every sample.
seealso:
  - module: rewind.rollback.health_probe
  - module: rewind.rollback.prometheus_signals
"""

EXAMPLES = r"""
- name: Decide from Prometheus metrics with the Laravel policy
  rewind.rollback.decide:
    policy: laravel
    signals: "{{ prometheus.signals }}"
  register: decision

- name: Decide from an incident report (critical data issue for every user, fix time unknown)
  rewind.rollback.decide:
    policy: generic
    incident:
      issue_type: data
      severity: critical
      impact_pct: 100
  register: decision

- name: Decide with the loop guard, from the release ledger
  rewind.rollback.decide:
    policy: /etc/rewind/policies/shop.yml
    signals: "{{ probe.signals }}"
    history:
      releases: "{{ shop_releases.releases }}"
      current: "{{ shop_releases.current }}"
      rollbacks: "{{ shop_auto_rollbacks }}"
  register: decision

- name: Roll the WordPress site back at the decided level, when the decision is to roll back now
  ansible.builtin.include_role:
    name: rewind.rollback.wordpress
  vars:
    level: "{{ decision.level_name }}"
  when: decision.rollback
"""

RETURN = r"""
decision:
  description:
    - V(rollback_now), V(rollback_if_fix_exceeds) (roll back at RV(level) if the fix takes longer than
      RV(fix_deadline_min)), V(fix_forward), V(monitor) (nothing calls for more than watching) or
      V(inconclusive) (not enough data to tell; never a rollback).
  returned: always
  type: str
  sample: rollback_now
rollback:
  description: Whether an automatic rollback should start now, that is RV(decision=rollback_now) and the loop guard allows it.
  returned: always
  type: bool
  sample: true
level:
  description: The rollback level 1-5 for a rollback decision, else null.
  returned: always
  type: int
  sample: 3
level_name:
  description: The level's name (V(flag), V(config), V(code), V(database), V(full)), else null.
  returned: always
  type: str
  sample: code
fix_deadline_min:
  description: With RV(decision=rollback_if_fix_exceeds), the minutes a fix may take before rolling back; else null.
  returned: always
  type: float
  sample: 120
severity:
  description: The worst severity among the fired triggers and the incident, or null.
  returned: always
  type: str
  sample: critical
triggers:
  description:
    - Every trigger of the policy and how it was judged. C(state) is V(fired), V(clear), V(inconclusive) or
      V(not_observed) (no samples or no incident given).
    - C(metric) is the series judged (null for incident triggers), C(condition) and C(threshold) the rule,
      C(window) its duration or count of consecutive samples, C(observed) the samples judged
      (C([unix_time, value])) or the incident, C(note) why.
  returned: always
  type: list
  elements: dict
  sample:
    - id: error_rate
      description: Error rate above 10 % for 5 minutes
      state: fired
      metric: error_rate_pct
      condition: error_rate_pct > 10
      threshold: 10
      window: 5m
      severity: critical
      observed: [[1767225300.0, 23.5], [1767225315.0, 31.0]]
      note: held for 5m over 21 samples
reasons:
  description: The decision's reasons, one sentence each.
  returned: always
  type: list
  elements: str
  sample:
    - "Error rate above 10 % for 5 minutes: error_rate_pct > 10 held for 5m (21 samples: 23.5 to 41): roll back now at level 3 (code)."
    - "Within thresholds: latency_p95, memory."
blocked_by:
  description: Why the loop guard refuses an automatic rollback; empty when it allows it or the decision is not V(rollback_now).
  returned: always
  type: list
  elements: str
  sample: ["The target release 20261117T101500Z is marked bad: rewind does not roll back to it automatically."]
escalation:
  description: The policy's escalation step for RV(severity) (C(severity), C(respond_within_min), C(notify)), or null.
  returned: always
  type: dict
  sample: {severity: critical, respond_within_min: 5, notify: [phone, sms, email]}
service:
  description: The service RV(rto_min) and RV(rpo_min) are of, or null when the policy defines no services.
  returned: always
  type: str
  sample: core_api
rto_min:
  description: The service's recovery time objective in minutes, or null.
  returned: always
  type: float
  sample: 5
rpo_min:
  description: The service's recovery point objective in minutes, or null.
  returned: always
  type: float
  sample: 1
policy:
  description: The name of the policy used.
  returned: always
  type: str
  sample: generic
now:
  description: The unix time the decision was made at.
  returned: always
  type: float
  sample: 1767225600.0
summary:
  description: The decision in one line, for messages.
  returned: always
  type: str
  sample: "rollback_now: roll back now at level 3 (code) (trigger error_rate)"
text:
  description: The decision, triggers and reasons as lines for a person to read.
  returned: always
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._decide import ARGUMENT_SPEC, DecisionError, decide
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._policy import PolicyError, validate_policy
from ansible_collections.rewind.rollback.plugins.module_utils._signals import SignalError


def main():
    module = AnsibleModule(
        argument_spec=dict(ARGUMENT_SPEC, _policy_data=dict(type="dict")),
        supports_check_mode=True,
    )
    params = module.params
    if params["_policy_data"] is None:
        module.fail_json(msg="the policy data is missing: rewind.rollback.decide reads its policy through its "
                             "action plugin; call the module by that name, not through another action")
    try:
        policy = validate_policy(params["_policy_data"], params["policy"])
        result = decide(policy, signals=params["signals"], incident=params["incident"],
                        now=time.time() if params["now"] is None else params["now"],
                        history=params["history"], service=params["service"])
    except (PolicyError, SignalError, DecisionError) as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
