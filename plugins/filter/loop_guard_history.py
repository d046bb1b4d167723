# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: loop_guard_history
short_description: The decision's loop-guard history from the release ledgers of a fleet
version_added: 0.1.0
description:
  - Turns the release ledgers of the hosts a rollback would touch, as M(rewind.rollback.release_info)
    returns them (one result per host, in inventory order, or the results of a loop over the hosts),
    into the value of the O(rewind.rollback.decide#module:history) option.
  - One history for the fleet, as strict as its strictest host. A release is bad when any host's ledger
    marks it bad; the current release is the first host's (the canary's); the rollbacks are the ledgers'
    rollback events, counted once per fleet rollback (events with the same release, previous release
    and note).
  - The ledger does not record whether a rollback was automatic, so every recorded rollback counts
    against the policy's C(loop_guard.max_automatic).
  - Bad input fails with a message naming the ledger and the entry.
positional: _input
options:
  _input:
    description:
      - A list of release_info results (or of ledger file contents), each with C(releases) and C(events)
        and optionally C(current). A registered loop result (with C(results)) is accepted as is.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Read the ledger of every host
  rewind.rollback.release_info:
    ledger: /var/lib/rewind/shop/releases.json
  delegate_to: "{{ item }}"
  loop: "{{ groups['shop'] }}"
  run_once: true
  register: shop_ledgers

- name: Decide with the loop guard fed from the ledgers
  rewind.rollback.decide:
    policy: laravel
    signals: "{{ prometheus.signals }}"
    history: "{{ shop_ledgers | rewind.rollback.loop_guard_history }}"
  register: decision
"""

RETURN = r"""
_value:
  description: The history, C(releases) (C(id), C(bad)), C(current) and C(rollbacks) (C(time), C(automatic)).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.rewind.rollback.plugins.module_utils._decide import DecisionError, history_from_ledgers
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged


def loop_guard_history(ledgers):
    if isinstance(ledgers, dict) and "results" in ledgers:  # a registered loop
        ledgers = ledgers["results"]
    try:
        return history_from_ledgers(ledgers)
    except DecisionError as exc:
        raise AnsibleFilterError(tagged(INPUT, str(exc)))


class FilterModule:
    def filters(self):
        return {"loop_guard_history": loop_guard_history}
