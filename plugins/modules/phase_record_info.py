#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: phase_record_info
short_description: Read the run journals on a host and pick the unfinished run a re-run continues
version_added: 0.2.0
description:
  - Reads the run journals that M(rewind.rollback.phase_record) keeps in O(runs_dir) and answers the
    question a rollback asks before it plans. Is there an unfinished run on this host, and if so, can this
    request continue it?
  - The run to continue is the run named O(run_id) when it is unfinished (C(-e rewind_run_id=<id>) after a
    crash), else the newest unfinished run (a plain re-run of the same rollback). A run is unfinished while
    its journal says C(running) (the playbook was killed or lost the host) or C(failed).
  - The continued run's pre-rollback snapshot is looked up on disk, C(<snapshot_root>/<run>-pre-rollback).
    A set with a C(manifest.json) is complete (the manifest is written last), whatever the journal recorded
    before a crash. With O(verify=true) every file it lists is checked against its size and sha256.
  - C(facts) is what the plan takes over, the run's id (so the tier finds its snapshot set and journal) and,
    once taken, its snapshot. The tier then skips its snapshot phase. A second snapshot, taken over a
    half-restored host, must never replace the one taken before the first restore.
author: rewind developers (@rewind)
options:
  runs_dir:
    description: Folder of the run journals, normally C(<rewind_state_dir>/runs).
    type: path
    required: true
  run_id:
    description: This invocation's run id (C(rewind_run_id)).
    type: str
    required: true
  request:
    description:
      - What this run asks (C(tier), C(level), C(undo), C(scope)). An unfinished run asked differently
        cannot be continued by it; C(conflict) then says why and what to do.
    type: dict
    default: {}
  backups:
    description:
      - The backups this run chose, C(kind → path). An unfinished run that restores from others cannot be
        continued by it (C(conflict)).
    type: dict
    default: {}
  snapshot_root:
    description: Folder of the pre-rollback snapshot sets (C(rewind_snapshot_root)).
    type: path
    required: true
  verify:
    description: Check every file of the continued run's snapshot against the manifest's size and sha256.
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
  - module: rewind.rollback.phase_record
"""

EXAMPLES = r"""
- name: Read the run journals
  rewind.rollback.phase_record_info:
    runs_dir: /var/lib/rewind/shop/runs
    run_id: "{{ rewind_run_id }}"
    snapshot_root: /var/backups/rewind/shop/snapshots
    request:
      tier: wordpress
      level: full
      undo: false
  register: runs

- name: Refuse a request that differs from the host's unfinished run
  ansible.builtin.assert:
    that: runs.conflict is none
    fail_msg: "REWIND-E-INPUT: {{ runs.conflict }}"
"""

RETURN = r"""
run_id:
  description: The id this run goes by; the continued run's id when it continues one.
  returned: always
  type: str
resumed:
  description: Whether this run continues an unfinished run.
  returned: always
  type: bool
resume:
  description: The journal of the run to continue, or null.
  returned: always
  type: dict
conflict:
  description: Why this request cannot continue the host's unfinished run and what to do, or null.
  returned: always
  type: str
snapshot:
  description:
    - The continued run's snapshot set, or null when it continues no run. C(taken) (its manifest exists),
      C(path), C(parts) (kinds held), C(moved) (kind → folder moved aside by rename), C(problems).
  returned: always
  type: dict
facts:
  description:
    - What the plan takes over (C(rewind_plan | combine(facts))). C(run_id) and C(resumed) always (null when
      no run is continued); C(snapshot), C(snapshot_parts), C(snapshot_tree), C(snapshot_datadir) when the
      continued run's snapshot was taken.
  returned: always
  type: dict
runs:
  description: Every run journal on the host, newest first (without their attempts' phase lists).
  returned: always
  type: list
  elements: dict
unreadable:
  description: Journal files that could not be read, with why; they are skipped.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils import _journal as jr
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged

_SUMMARY_KEYS = ("run_id", "status", "created_at", "updated_at", "request", "todo", "completed", "current",
                 "snapshot", "failure")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runs_dir=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            request=dict(type="dict", default={}),
            backups=dict(type="dict", default={}),
            snapshot_root=dict(type="path", required=True),
            verify=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        jr.check_run_id(p["run_id"])
    except jr.JournalError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    journals, unreadable = jr.load_all(p["runs_dir"])
    resume = jr.run_to_continue(journals, p["run_id"])
    result = dict(changed=False, run_id=p["run_id"], resumed=False, resume=resume, conflict=None, snapshot=None,
                  facts={"run_id": p["run_id"], "resumed": None},
                  runs=[{k: j.get(k) for k in _SUMMARY_KEYS} for j in reversed(journals)],
                  unreadable=["%s: %s" % item for item in unreadable])
    if resume is not None:
        result["conflict"] = (jr.request_conflict(resume, p["request"], p["run_id"])
                              or jr.backups_conflict(resume, p["backups"]))
        if result["conflict"] is None:
            try:
                status = jr.snapshot_status("%s/%s" % (p["snapshot_root"].rstrip("/"), jr.snapshot_id(resume["run_id"])),
                                            verify=p["verify"])
            except OSError as exc:
                module.fail_json(msg="could not read the snapshot of run %s under %s: %s"
                                     % (resume["run_id"], p["snapshot_root"], exc), **result)
            result.update(run_id=resume["run_id"], resumed=True, snapshot=status,
                          facts=jr.resume_facts(resume, status))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
