#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: phase_record
short_description: Record a rollback phase in the run journal on the host, or stop for the fleet
version_added: 0.2.0
description:
  - Keeps the journal of one rollback run on the host, C(<runs_dir>/<run_id>.json), with the phases completed,
    the phase under way, each attempt (a re-run after a crash is a new attempt of the same run), the
    pre-rollback snapshot and how the run ended. A re-run reads it with M(rewind.rollback.phase_record_info)
    and continues the run instead of starting a second one.
  - O(state=started) records that O(phase) starts, which completes the phase before it. The first record
    creates the journal (unless O(create=false)) with the O(request), O(todo) and O(backups) of the run.
    Recording the phase already under way in the same attempt again changes nothing.
  - Fleet safety. When O(fleet_failed) names hosts, the host stops here instead, and the task fails with a
    message starting C(stopped by the fleet), and an existing journal records the stop (the run stays
    unfinished, so a re-run continues it). Tier roles pass the hosts of the play that have failed, so one
    failing host stops the others at their next phase boundary.
  - O(require_snapshot=true) refuses to start the phase (the restore) unless the run's pre-rollback snapshot
    exists on disk with its manifest and holds every part in O(parts). A restore never overwrites what no
    snapshot holds.
  - O(state=finished) marks the run finished; O(state=failed) records where and why it failed (it stays
    unfinished); O(state=abandoned) gives an unfinished run up on purpose (its snapshot is kept).
  - The journal is written atomically (temp file, fsync, rename), mode C(0640) in a C(0750) folder.
author: rewind developers (@rewind)
options:
  runs_dir:
    description: Folder of the run journals, normally C(<rewind_state_dir>/runs). Created when missing.
    type: path
    required: true
  run_id:
    description:
      - The run, which names the journal file; letters, digits and C(._:+-) only.
      - A run continued after a crash keeps its first attempt's id (M(rewind.rollback.phase_record_info)
        returns it as C(run_id)).
    type: str
    required: true
  attempt:
    description: This invocation's own run id (C(rewind_run_id)); default O(run_id).
    type: str
  state:
    description: V(started) records O(phase); V(finished), V(failed) and V(abandoned) end the run so.
    type: str
    choices: [started, finished, failed, abandoned]
    default: started
  phase:
    description: The phase that starts (O(state=started)), e.g. V(snapshot), V(restore).
    type: str
  create:
    description:
      - Create the journal when it does not exist. Tier roles pass V(false) when the run has nothing to
        restore and continues no run, so a rollback that changes nothing writes nothing.
    type: bool
    default: true
  request:
    description: What was asked (tier, level, undo, scope), recorded when the journal is created.
    type: dict
    default: {}
  todo:
    description: What the run restores (e.g. V(db), V(files), V(config)), recorded when the journal is created.
    type: list
    elements: str
    default: []
  backups:
    description: The backups the run restores from, C(kind → path), recorded when the journal is created.
    type: dict
    default: {}
  snapshot:
    description: The run's pre-rollback snapshot set folder, once taken; recorded with the parts its manifest lists.
    type: path
  require_snapshot:
    description: Refuse to start O(phase) unless the snapshot (O(snapshot), else the journal's) holds every part in O(parts).
    type: bool
    default: false
  parts:
    description: The parts the phase restores over (kinds V(db), V(files), V(config); other items are ignored).
    type: list
    elements: str
    default: []
  fleet_failed:
    description: Hosts of the play that have failed. When not empty, this host stops before O(phase).
    type: list
    elements: str
    default: []
  msg:
    description: Why the run failed (O(state=failed)).
    type: str
    default: ""
  stopped:
    description: With O(state=failed), the run was stopped for the fleet rather than failing itself.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports the journal as it would be written, and fails where a real run would; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.phase_record_info
"""

EXAMPLES = r"""
- name: Record that the restore starts, refusing it without a snapshot, unless another host has failed
  rewind.rollback.phase_record:
    runs_dir: /var/lib/rewind/shop/runs
    run_id: "{{ rewind_plan.run_id }}"
    attempt: "{{ rewind_run_id }}"
    phase: restore
    snapshot: "{{ rewind_plan.snapshot }}"
    require_snapshot: true
    parts: "{{ rewind_plan.todo }}"
    fleet_failed: "{{ ansible_play_hosts_all | difference(ansible_play_hosts) }}"

- name: Mark the run finished
  rewind.rollback.phase_record:
    runs_dir: /var/lib/rewind/shop/runs
    run_id: "{{ rewind_plan.run_id }}"
    state: finished

- name: Give up an unfinished run (its snapshot stays)
  rewind.rollback.phase_record:
    runs_dir: /var/lib/rewind/shop/runs
    run_id: 20261124T031500Z-3f9a1c
    state: abandoned
"""

RETURN = r"""
path:
  description: The journal file.
  returned: always
  type: str
  sample: /var/lib/rewind/shop/runs/20261124T031500Z-3f9a1c.json
journal:
  description: The journal after the task (in check mode, as it would be), or null when there is none.
  returned: always
  type: dict
phase:
  description: The phase of this record (O(phase), or the run's current phase for the other states).
  returned: always
  type: str
stopped:
  description: Whether the host stopped here because another host of the play failed.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils import _journal as jr
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, INPUT, tagged


def _fleet_stop(journal, phase, failed):
    hosts = ", ".join(sorted(failed))
    msg = "stopped by the fleet before %s: %s failed, so this host goes no further." % (phase, hosts)
    if journal is None or not (journal.get("completed") or journal.get("current")):
        return msg + " Nothing was changed on it."
    return msg + (" It stays as %s left it; re-run the same rollback to continue that run, or undo it."
                  % jr.describe(journal))


def _check_snapshot(module, journal, phase, snapshot, parts):
    path = snapshot or ((journal or {}).get("snapshot") or {}).get("path")
    status = jr.snapshot_status(path, verify=False) if path else None
    missing = jr.uncovered(parts, status)
    problems = (status or {}).get("problems") or []
    if missing or problems:
        module.fail_json(msg=tagged(BACKUP, (
            "refusing to start %s: the pre-rollback snapshot %s %s. Nothing has been restored over it; "
            "the journal of run %s says %s."
            % (phase, path or "(none recorded)",
               ("does not hold %s" % ", ".join(missing)) if status and status["taken"] and missing
               else "is not there (no manifest.json)" if not status or not status["taken"]
               else "is damaged: %s" % "; ".join(problems),
               module.params["run_id"], jr.describe(journal) if journal else "nothing (no journal)"))),
            phase=phase, stopped=False, journal=journal)
    return status


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runs_dir=dict(type="path", required=True),
            run_id=dict(type="str", required=True),
            attempt=dict(type="str"),
            state=dict(type="str", default="started", choices=["started", "finished", "failed", "abandoned"]),
            phase=dict(type="str"),
            create=dict(type="bool", default=True),
            request=dict(type="dict", default={}),
            todo=dict(type="list", elements="str", default=[]),
            backups=dict(type="dict", default={}),
            snapshot=dict(type="path"),
            require_snapshot=dict(type="bool", default=False),
            parts=dict(type="list", elements="str", default=[]),
            fleet_failed=dict(type="list", elements="str", default=[]),
            msg=dict(type="str", default=""),
            stopped=dict(type="bool", default=False),
        ),
        required_if=[("state", "started", ("phase",))],
        supports_check_mode=True,
    )
    p = module.params
    attempt = p["attempt"] or p["run_id"]
    try:
        path = jr.journal_path(p["runs_dir"], p["run_id"])
        jr.check_run_id(attempt)
        journal = jr.load(path)
    except jr.JournalError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    phase = p["phase"] or (journal or {}).get("current") or ""
    result = dict(changed=False, path=path, phase=phase, stopped=False, journal=journal)

    def write(changed):
        if changed and not module.check_mode:
            try:
                jr.save(p["runs_dir"], journal)
            except OSError as exc:
                module.fail_json(msg="could not write the run journal %s: %s. Check that the remote user can "
                                     "write %s (become?)." % (path, exc, p["runs_dir"]), **result)
        result.update(changed=changed, journal=journal)

    if p["state"] == "started":
        if p["fleet_failed"]:
            msg = _fleet_stop(journal, phase, p["fleet_failed"])
            if journal is not None:
                write(jr.fail(journal, attempt, msg, stopped=True))
            result["stopped"] = True
            module.fail_json(msg=msg, **result)
        if journal is None:
            if not p["create"]:
                module.exit_json(**result)
            journal = jr.new(p["run_id"], p["request"], p["todo"], p["backups"])
            changed = True
        else:
            changed = False
        if p["snapshot"]:
            changed |= jr.record_snapshot(journal, jr.snapshot_status(p["snapshot"], verify=False))
        if p["require_snapshot"]:
            _check_snapshot(module, journal, phase, p["snapshot"], p["parts"])
        changed |= jr.start_phase(journal, phase, attempt)
        write(changed)
    elif journal is None:
        if p["state"] == "abandoned":
            module.fail_json(msg=tagged(INPUT, "there is no run %s to abandon on this host (no %s); the run journals "
                                               "are in %s" % (p["run_id"], path, p["runs_dir"])), **result)
    elif p["state"] == "finished":
        write(jr.finish(journal, attempt))
    elif p["state"] == "failed":
        write(jr.fail(journal, attempt, p["msg"], stopped=p["stopped"]))
    else:
        write(jr.abandon(journal, attempt))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
