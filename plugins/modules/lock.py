#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lock
short_description: Take or release the one rollback lock of an application
version_added: 0.1.0
description:
  - Makes sure only one rollback of an application runs at a time. The lock is a JSON file
    (default C(/var/lib/rewind/<app>/lock.json)) recording who holds it (C(user@host) and pid),
    since when, the playbook, the reason, its time to live and the run id.
  - O(state=present) takes the lock. When another run holds it, the task fails with a message
    naming the holder, since when, the playbook and the reason, and how to force it. A lock older
    than its TTL is expired and taken over, and the result says so. Taking it again with the same
    O(run_id) changes nothing.
  - O(state=absent) releases the lock, only when it is held by O(run_id).
  - O(force=true) takes or removes a lock held by another run. Expired take-overs and forced
    actions are reported in the result and appended to C(lock-history.jsonl) beside the lock.
  - Every change is made under an flock on C(<path>.flock) and lands by an atomic rename, so two
    runs never both acquire the lock and a reader never sees a half-written lock file.
author: rewind developers (@rewind)
options:
  app:
    description: The application; one lock per application. Recorded in the lock and used in its default path.
    type: str
    required: true
  path:
    description:
      - The lock file. Default C(/var/lib/rewind/<app>/lock.json).
      - Its directory is created (mode C(0750)) when missing.
    type: path
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description: Identifies the run holding the lock; the same value must release it.
    type: str
    required: true
  playbook:
    description: The playbook taking the lock, recorded for whoever finds it held.
    type: str
  reason:
    description: Why the lock is taken, for example the incident, recorded for whoever finds it held.
    type: str
  ttl_s:
    description:
      - Seconds after which the lock counts as expired and the next run takes it over.
      - Keep it longer than the slowest rollback; the default covers the full level's two-hour budget.
    type: int
    default: 7200
  holder:
    description:
      - Who holds the lock, recorded for whoever finds it held.
      - Default C(user@host) as seen on the target, C(SUDO_USER) taking precedence over the become user.
    type: str
  force:
    description:
      - Take (V(present)) or remove (V(absent)) a lock held by another run, or an unreadable lock
        file. Only when that run is known to be dead. Playbooks map C(-e rewind_force_unlock=true) to it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports whether the lock would be taken or released, and fails as a real run would when
        another run holds it; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The lock guards one host's file system. For an application on several hosts, take it on one
    host (for example with C(run_once) and C(delegate_to)).
"""

EXAMPLES = r"""
- name: Take the rollback lock of the shop
  rewind.rollback.lock:
    app: shop
    run_id: "{{ rewind_run_id }}"
    playbook: rollback.yml
    reason: "{{ rewind_plan.reason }}"
    force: "{{ rewind_force_unlock | default(false) | bool }}"
  run_once: true
  delegate_to: "{{ groups['shop_app'][0] }}"

- name: Release the rollback lock of the shop
  rewind.rollback.lock:
    app: shop
    run_id: "{{ rewind_run_id }}"
    state: absent
  run_once: true
  delegate_to: "{{ groups['shop_app'][0] }}"
"""

RETURN = r"""
lock_file:
  description: The lock file.
  returned: always
  type: str
  sample: /var/lib/rewind/shop/lock.json
lock:
  description: The lock held after the task (in check mode, as it would be); null after a release.
  returned: always
  type: dict
  sample:
    app: shop
    holder: alice@ops1
    pid: 41872
    time: "2026-11-24T02:58:10Z"
    ttl_s: 7200
    playbook: rollback.yml
    reason: checkout returns 500 since release 20261124T024500Z
    run_id: 7c1e4f0a
acquired:
  description: Whether this run holds the lock after the task.
  returned: always
  type: bool
taken_over:
  description: Whether an expired lock of another run was replaced.
  returned: always
  type: bool
forced:
  description: Whether O(force) overrode a live or unreadable lock of another run.
  returned: always
  type: bool
previous_lock:
  description:
    - The lock record replaced (take-over, force) or removed (release), or null. An unreadable lock
      file appears as a dict with the single key C(unreadable), holding its text.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, LOCKED, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._lock import (
    DEFAULT_TTL_S, HISTORY_NAME, LockError, acquire, current_actor, default_path, describe, new_record, release)

# (what happened, check mode) -> how the warning says it
_VERBS = {("take_over", False): "took over", ("take_over", True): "would take over",
          ("present", False): "took", ("present", True): "would take",
          ("absent", False): "removed", ("absent", True): "would remove"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            path=dict(type="path"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            run_id=dict(type="str", required=True),
            playbook=dict(type="str"),
            reason=dict(type="str"),
            ttl_s=dict(type="int", default=DEFAULT_TTL_S),
            holder=dict(type="str"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["ttl_s"] <= 0:
        module.fail_json(msg=tagged(INPUT, "ttl_s must be a positive number of seconds, got %d" % p["ttl_s"]))
    try:
        path = p["path"] or default_path(p["app"])
    except LockError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    holder = p["holder"] or current_actor()
    try:
        if p["state"] == "present":
            result = acquire(path, new_record(p["app"], p["run_id"], holder, p["playbook"], p["reason"], p["ttl_s"]),
                             force=p["force"], check_mode=module.check_mode)
        else:
            result = release(path, p["run_id"], force=p["force"], check_mode=module.check_mode, by=holder)
    except LockError as exc:  # held by another run, unreadable, or its guard busy: this run must not proceed
        module.fail_json(msg=tagged(LOCKED, str(exc)))
    except OSError as exc:
        verb = "take" if p["state"] == "present" else "release"
        module.fail_json(msg="could not %s the lock of %s: %s. Check that the remote user can write %s "
                             "(become?)." % (verb, p["app"], exc, os.path.dirname(path)))
    previous = result["previous_lock"]
    logged = "" if module.check_mode else "; logged in %s" % HISTORY_NAME
    if result["taken_over"]:
        module.warn("%s the expired lock of %s: %s%s"
                    % (_VERBS["take_over", module.check_mode], p["app"], describe(previous), logged))
    if result["forced"]:
        module.warn("force: %s the lock of %s held by %s%s"
                    % (_VERBS[p["state"], module.check_mode], p["app"],
                       describe(previous) if "run_id" in previous else "an unreadable lock file", logged))
    module.exit_json(lock_file=path, **result)


if __name__ == "__main__":
    main()
