# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: decide
short_description: Decide whether and how far to roll back, in a template
version_added: 0.1.0
description:
  - The decision of M(rewind.rollback.decide) as a filter over the signals, for templates and C(set_fact).
    Same policy files, same logic, same result (see the module's return values).
  - Runs on the controller, like every filter, so it reads the policy there.
  - Bad input (an unknown policy, metric, issue type or severity, a broken policy file) fails with a
    message naming the bad value and the accepted ones.
positional: _input, policy
options:
  _input:
    description: The signals, metric name to C([[unix_time, value], ...]); V({}) to decide from the incident alone.
    type: dict
    required: true
  policy:
    description:
      - The policy's name (in O(policy_paths) or the collection's C(policies/)) or a path to its file.
      - A relative path is relative to the working directory of C(ansible-playbook).
    type: str
    default: generic
  incident:
    description: C(issue_type), C(severity), and optionally C(impact_pct) and C(time_to_fix_min), as for the module.
    type: dict
  now:
    description: The unix time to judge at; default now.
    type: float
  history:
    description: The release history for the loop guard (C(releases), C(current), C(target), C(rollbacks)), as for the module.
    type: dict
  service:
    description: The service whose RTO and RPO to report; default the policy's C(default_service).
    type: str
  policy_paths:
    description: Directories searched for a policy given by name before the collection's C(policies/).
    type: list
    elements: path
"""

EXAMPLES = r"""
- name: Put the decision in the incident report
  ansible.builtin.template:
    src: incident.md.j2   # {{ decision.text }}, {{ decision.level_name }} ...
    dest: /var/tmp/incident.md
    mode: "0644"
  vars:
    decision: >-
      {{ probe.signals | rewind.rollback.decide('laravel',
                                               incident={'issue_type': 'functional', 'severity': 'high'}) }}
"""

RETURN = r"""
_value:
  description: The decision, with the same keys as the return values of M(rewind.rollback.decide).
  type: dict
"""

import time

from ansible.errors import AnsibleFilterError
from ansible_collections.rewind.rollback.plugins.module_utils._decide import DecisionError
from ansible_collections.rewind.rollback.plugins.module_utils._decide import decide as _decide
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._policy import PolicyError, load_policy
from ansible_collections.rewind.rollback.plugins.module_utils._signals import SignalError


def decide(signals, policy="generic", incident=None, now=None, history=None, service=None, policy_paths=None):
    try:
        return _decide(load_policy(policy, policy_paths or ()), signals=signals, incident=incident,
                       now=time.time() if now is None else now, history=history, service=service)
    except (PolicyError, SignalError, DecisionError) as exc:
        raise AnsibleFilterError(tagged(INPUT, str(exc)))


class FilterModule:
    def filters(self):
        return {"decide": decide}
