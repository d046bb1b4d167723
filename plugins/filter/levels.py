# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: rollback_level
short_description: Resolve a rollback level name, alias or number
version_added: 0.1.0
description:
  - Returns the level as a dict (C(number), C(name), C(restores), C(budget_min), C(aliases)) for a name
    (C(flag) C(config) C(code) C(database) C(full)), a seed alias (C(frontend) C(partial)) or a number 1-5.
  - An unknown value fails with a message naming it and every accepted value.
positional: _input
options:
  _input:
    description: The level as given by the user.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse an unknown level with a message that names the accepted ones
  ansible.builtin.assert:
    that: level | rewind.rollback.rollback_level_error == ''
    fail_msg: "{{ level | rewind.rollback.rollback_level_error }}"

- name: Resolve -e level=partial
  ansible.builtin.set_fact:
    rewind_level: "{{ level | rewind.rollback.rollback_level }}"   # {'number': 4, 'name': 'database', ...}
"""

RETURN = r"""
_value:
  description: The level.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.rewind.rollback.plugins.module_utils._levels import LevelError, resolve_level


def rollback_level_error(value):
    """'' for a known level, else the message naming the value and the accepted ones."""
    try:
        resolve_level(value)
    except LevelError as exc:
        return "REWIND-E-INPUT: %s" % exc
    return ""


def rollback_level(value):
    try:
        return resolve_level(value)
    except LevelError as exc:
        raise AnsibleFilterError("REWIND-E-INPUT: %s" % exc)


class FilterModule:
    def filters(self):
        return {"rollback_level": rollback_level, "rollback_level_error": rollback_level_error}
