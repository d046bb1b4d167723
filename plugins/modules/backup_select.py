#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_select
short_description: Choose and verify the backups a rollback restores
version_added: 0.1.0
description:
  - For each kind in O(kinds), takes the newest backup under O(root) created strictly before
    O(before), the time of the deployment being rolled back, and verifies it as
    M(rewind.rollback.backup_verify) does. The answer depends only on O(before), never on
    today's date, so a rollback just after midnight still finds yesterday's backup.
  - Candidates are verified newest first, and only until one is valid, so a rollback reads the
    one backup per kind it restores, not all of them.
  - When the newest backup fails verification the module fails, naming the file and what is
    wrong. With O(allow_fallback=true) it takes the next older valid one instead, but only one
    created within the RPO (O(rpo_min) minutes before O(before)), and says so in a warning.
  - Among backups equally new, files of the same backup set are preferred.
  - What the operator should know about the choice (a fallback, a backup older than the RPO but
    accepted with O(rpo_action=warn), a creation time known only to the day) is reported as Ansible
    warnings, so it shows in the output and in the registered result's C(warnings).
  - Changes nothing.
author: rewind developers (@rewind)
options:
  kinds:
    description: The kinds of backup to choose, one each.
    type: list
    elements: str
    choices: [db, files, config]
    required: true
  before:
    description:
      - The cut-off, an ISO 8601 time (for example V(2026-11-24T02:50:00Z); without a zone it is UTC),
        normally when the release being rolled back was deployed. Only backups created strictly
        before it are candidates.
      - Without it every backup is a candidate, which is rarely what a rollback wants.
    type: str
  backup_id:
    description:
      - Use this backup instead of the newest. A set id (V(20261124T024500Z-pre-deploy)) chooses each
        kind from that set; a backup's id (V(db_backup_20261123.sql.gz)) chooses that one for its kind.
      - It may be after O(before) and have any label (to undo a rollback from its C(pre-rollback)
        snapshot, name the snapshot); a warning says so.
    type: str
  date:
    description:
      - Only backups created on this UTC day, V(YYYYMMDD) or V(YYYY-MM-DD); the newest of that day
        before O(before) is taken.
    type: str
  labels:
    description: Only backups with one of these labels. Snapshots taken by a rollback are labelled V(pre-rollback).
    type: list
    elements: str
    default: [pre-deploy]
  verify:
    description:
      - Verify the candidates. With V(false) the newest is taken unread, which is only safe when it
        was just verified.
    type: bool
    default: true
  rpo_min:
    description:
      - Recovery point objective in minutes. A chosen backup created longer than this before
        O(before) loses the data written in between; see O(rpo_action). Ignored without O(before).
    type: int
  rpo_action:
    description: Fail, or only warn, when the chosen backup is older than the RPO.
    type: str
    choices: [fail, warn]
    default: fail
  allow_fallback:
    description:
      - When the newest backup fails verification, take the next older valid one created within
        the RPO instead of failing.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - rewind.rollback.backup
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode; a dry run shows the backups a rollback would use.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - C(zstd) on the managed host, for zstd-compressed backups.
seealso:
  - module: rewind.rollback.backup_info
  - module: rewind.rollback.backup_verify
"""

EXAMPLES = r"""
- name: Choose the backups taken before the bad deployment
  rewind.rollback.backup_select:
    root: /var/backups/rewind/demo
    tier: wordpress
    kinds: [db, files, config]
    before: "2026-11-24T02:50:00Z"
    rpo_min: 60
  register: chosen

- name: Restore the database the cut-off chose
  rewind.rollback.mysql_restore:
    src: "{{ chosen.backups.db.path }}"
    database: wordpress

- name: Undo a rollback from the snapshot it took
  rewind.rollback.backup_select:
    root: /var/backups/rewind/demo
    kinds: [db]
    backup_id: 20261124T031200Z-pre-rollback
"""

RETURN = r"""
backups:
  description:
    - The chosen backup of each kind, as a catalog entry (see M(rewind.rollback.backup_info)),
      with C(verified), its verification result, and C(age_min), its age in minutes now.
  returned: success
  type: dict
  sample:
    db:
      id: 20261124T024500Z-pre-deploy/db.sql.zst
      set: 20261124T024500Z-pre-deploy
      path: /var/backups/rewind/demo/20261124T024500Z-pre-deploy/db.sql.zst
      kind: db
      format: mysql-logical
      label: pre-deploy
      created_at: "2026-11-24T02:45:00.123456Z"
      created_at_source: manifest
      weak: false
      release: r1
      age_min: 31
      verified: {ok: true, reason: null, sha256: 9f2c0d6f6b0e4e1e8f1f5d0c3b2a19e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2}
skipped:
  description: Backups passed over because they failed verification or could not be read, and why.
  returned: success
  type: list
  elements: dict
  sample:
    - path: /var/backups/rewind/demo/20261124T024500Z-pre-deploy/db.sql.zst
      reason: "dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump)"
cutoff:
  description: O(before) as ISO 8601 UTC, or null.
  returned: always
  type: str
  sample: "2026-11-24T02:50:00Z"
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._backups import (
    KINDS, SelectionError, backup_argument_spec, catalog, iso, parse_day, parse_time, select, verify_entry)
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, INPUT, tagged


def main():
    argument_spec = backup_argument_spec()
    argument_spec.update(
        kinds=dict(type="list", elements="str", required=True, choices=list(KINDS)),
        before=dict(type="str"),
        backup_id=dict(type="str"),
        date=dict(type="str"),
        labels=dict(type="list", elements="str", default=["pre-deploy"]),
        verify=dict(type="bool", default=True),
        rpo_min=dict(type="int"),
        rpo_action=dict(type="str", default="fail", choices=["fail", "warn"]),
        allow_fallback=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[("backup_id", "date")],
                           supports_check_mode=True)
    p = module.params
    parsed = {}
    for option, parse in (("before", parse_time), ("date", parse_day)):
        try:
            parsed[option] = parse(p[option]) if p[option] else None
        except ValueError as exc:
            module.fail_json(msg=tagged(INPUT, "%s: %s" % (option, exc)), cutoff=None)
    cutoff = parsed["before"]
    result = dict(changed=False, cutoff=iso(cutoff) if cutoff else None)
    if not os.path.isdir(p["root"]):
        module.fail_json(msg=tagged(BACKUP, "backup root %s is not a folder; check the path" % p["root"]), **result)
    try:
        entries = catalog(p["root"])
    except OSError as exc:
        module.fail_json(msg=tagged(BACKUP, "cannot list the backups in %s: %s" % (p["root"], exc)), **result)
    if not entries:
        module.fail_json(msg=tagged(BACKUP, "no backups at all in %s: nothing to roll back to. Was the "
                                            "pre-deployment backup taken (playbooks/prepare.yml)?" % p["root"]),
                         **result)
    try:
        chosen = select(entries, p["kinds"], before=cutoff, backup_id=p["backup_id"], date=parsed["date"],
                        labels=p["labels"], tier=p["tier"], verified=verify_entry if p["verify"] else None,
                        rpo_min=p["rpo_min"], now=datetime.datetime.now(datetime.timezone.utc),
                        rpo_action=p["rpo_action"], allow_fallback=p["allow_fallback"])
    except SelectionError as exc:
        module.fail_json(msg=tagged(BACKUP, str(exc)), **result)
    for warning in chosen["warnings"]:
        module.warn(warning)
    module.exit_json(backups=chosen["backups"], skipped=chosen["skipped"], **result)


if __name__ == "__main__":
    main()
