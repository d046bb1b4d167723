#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_info
short_description: List the backups of an application, optionally verifying each
version_added: 0.1.0
description:
  - Catalogs the backups under O(root), newest first, rewind backup sets and foreign backups alike.
    Changes nothing.
  - With O(verify=true) every listed backup is read once, to the end, and checked like
    M(rewind.rollback.backup_verify) does. That reads every byte of every backup; to check only
    the ones a rollback would use, use M(rewind.rollback.backup_select).
author: rewind developers (@rewind)
options:
  verify:
    description: Verify each listed backup and add the result as C(verified).
    type: bool
    default: false
  kinds:
    description: Only backups of these kinds. Default is all kinds.
    type: list
    elements: str
    choices: [db, files, config]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - rewind.rollback.backup
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.backup_select
  - module: rewind.rollback.backup_verify
  - module: rewind.rollback.snapshot
"""

EXAMPLES = r"""
- name: List the database backups of the demo site
  rewind.rollback.backup_info:
    root: /var/backups/rewind/demo
    kinds: [db]
  register: demo_backups

- name: Check every backup of the demo site, for the nightly report
  rewind.rollback.backup_info:
    root: /var/backups/rewind/demo
    tier: wordpress
    verify: true
  register: demo_checked

- name: Show the backups that would not restore
  ansible.builtin.debug:
    msg: "{{ demo_checked.backups | rejectattr('verified.ok') | map(attribute='path') }}"
"""

RETURN = r"""
backups:
  description:
    - The backups, newest first. Something that looks like a backup but cannot be read (a broken
      manifest, a dangling symlink) comes last, with C(kind) null and C(error) saying why.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: C(<set_id>/<file>) for a file of a backup set, the file name for a foreign backup.
      type: str
    set:
      description: The backup set id, null for a foreign backup.
      type: str
    path:
      description: Absolute path of the backup (a symlink's target).
      type: str
    kind:
      description: V(db), V(files) or V(config).
      type: str
    format:
      description: >-
        V(mysql-logical), V(mysql-physical), V(mydumper), V(mongodump), V(mongodump-archive), V(tar),
        V(file) (a config file kept as is) or V(dir) (a folder of them).
      type: str
    label:
      description: V(pre-deploy) for backups, V(pre-rollback) for snapshots taken by a rollback.
      type: str
    created_at:
      description: Creation time, ISO 8601 UTC.
      type: str
    created_at_source:
      description: V(manifest), V(name) or V(mtime).
      type: str
    weak:
      description: True when the creation time is only a day or a file's modification time.
      type: bool
    sha256:
      description: The checksum the manifest recorded (a folder's tree digest); null without manifest.
      type: str
    meta:
      description: >-
        The manifest's other keys for this file (C(database), C(tables), C(root), C(tree_sha256)…),
        and C(aliases), the symlinks naming it.
      type: dict
    verified:
      description: With O(verify=true), the verification result (as M(rewind.rollback.backup_verify) returns).
      type: dict
      returned: when O(verify=true)
  sample:
    - id: 20261124T024500Z-pre-deploy/db.sql.zst
      set: 20261124T024500Z-pre-deploy
      root: /var/backups/rewind/demo
      path: /var/backups/rewind/demo/20261124T024500Z-pre-deploy/db.sql.zst
      name: db.sql.zst
      kind: db
      format: mysql-logical
      compression: zstd
      tier: wordpress
      app: demo
      host: wp1
      label: pre-deploy
      created_at: "2026-11-24T02:45:00.123456Z"
      created_at_source: manifest
      weak: false
      size: 18873344
      sha256: 9f2c0d6f6b0e4e1e8f1f5d0c3b2a19e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2
      release: r1
      error: null
      meta: {database: wordpress, tables: {wp_posts: 1234}}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._backups import (
    KINDS, backup_argument_spec, catalog, tier_matches, verify_entry)


def main():
    argument_spec = backup_argument_spec()
    argument_spec.update(
        verify=dict(type="bool", default=False),
        kinds=dict(type="list", elements="str", choices=list(KINDS)),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    root, kinds = module.params["root"], module.params["kinds"]
    if not os.path.isdir(root):
        module.fail_json(msg="backup root %s is not a folder; check the path (backups are written by "
                             "rewind.rollback.snapshot or by the tier's own backup script)" % root)
    try:
        entries = catalog(root)
    except OSError as exc:
        module.fail_json(msg="cannot list the backups in %s: %s" % (root, exc))
    backups = [e for e in entries if e["error"] or ((not kinds or e["kind"] in kinds)
                                                    and tier_matches(e, module.params["tier"]))]
    if module.params["verify"]:
        for entry in backups:
            entry["verified"] = verify_entry(entry)
    module.exit_json(changed=False, backups=backups)


if __name__ == "__main__":
    main()
