#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_verify
short_description: Prove that backups are complete and intact before restoring them
version_added: 0.1.0
description:
  - Reads each backup once, front to back, in constant memory. In that single pass it checks the
    sha256 and size (against the manifest's values when given O(entries)), that the backup
    decompresses to the end (gzip CRC and length, zstd frame checks), and its content.
  - A tar archive must hold no member that could escape the restore root (absolute paths, C(..),
    links pointing outside, paths through an earlier symlink, devices, fifos); its tree digest is
    computed.
  - A SQL dump must not be empty and must end with mysqldump's C(-- Dump completed) line, so a
    dump cut off mid-file is caught.
  - A mydumper folder's C(metadata) must say the dump finished, and every table with rows must
    have its data files. Every C(<db>/<collection>.bson) of a mongodump folder must be whole and
    have a C(.metadata.json) that parses. A mongodump archive must decompress and not be empty.
  - Changes nothing.
author: rewind developers (@rewind)
options:
  path:
    description: A backup file or folder.
    type: path
  paths:
    description: Backup files or folders.
    type: list
    elements: path
  entries:
    description:
      - Catalog entries as returned by M(rewind.rollback.backup_info) or M(rewind.rollback.backup_select).
        Each is checked against the sha256, size and format its manifest recorded.
    type: list
    elements: dict
  fail_on_error:
    description: Fail when any backup is bad. With V(false), report the results and let the play decide.
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
requirements:
  - C(zstd) on the managed host, for zstd-compressed backups.
seealso:
  - module: rewind.rollback.backup_info
  - module: rewind.rollback.backup_select
"""

EXAMPLES = r"""
- name: Check the dump a script left behind before restoring it by hand
  rewind.rollback.backup_verify:
    path: /var/backups/mysql/db_backup_20261123.sql.gz

- name: List the backups of the demo site
  rewind.rollback.backup_info:
    root: /var/backups/rewind/demo
  register: demo_backups

- name: Verify them all against their manifests, reporting instead of failing
  rewind.rollback.backup_verify:
    entries: "{{ demo_backups.backups }}"
    fail_on_error: false
  register: demo_verified
"""

RETURN = r"""
ok:
  description: True when every backup verified.
  returned: always
  type: bool
  sample: false
results:
  description: One result per backup, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The backup.
      type: str
    ok:
      description: Whether it can be restored.
      type: bool
    reason:
      description: What is wrong with it, null when ok.
      type: str
    sha256:
      description: sha256 of the file's bytes as read (null for a folder).
      type: str
    size:
      description: Bytes read (for a folder, the total of its files).
      type: int
    format:
      description: The format it was checked as.
      type: str
    compression:
      description: V(gzip), V(zstd) or V(none), from the magic bytes; null for a folder.
      type: str
    tree_sha256:
      description: Tree digest of a tar archive's content or of a folder.
      type: str
      returned: for tar archives and folders that could be read
    entries:
      description: Number of paths in RV(results[].tree_sha256).
      type: int
      returned: for tar archives and folders that could be read
  sample:
    - path: /var/backups/rewind/demo/20261124T024500Z-pre-deploy/db.sql.zst
      ok: false
      reason: "dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump)"
      sha256: 0c7e7ad1c2f0a3bd3b4f2dfe7b4c8f4b1fe6c4d1bd5b0f6a3c6f9b7f2a0e4d11
      size: 5242880
      format: mysql-logical
      compression: zstd
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import verify_file
from ansible_collections.rewind.rollback.plugins.module_utils._backups import verify_entry
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, INPUT, tagged


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            paths=dict(type="list", elements="path"),
            entries=dict(type="list", elements="dict"),
            fail_on_error=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("path", "paths", "entries")],
        required_one_of=[("path", "paths", "entries")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p["entries"] is not None:
            results = [verify_entry(entry) for entry in p["entries"]]
        else:
            results = [verify_file(path) for path in p["paths"] or [p["path"]]]
    except (KeyError, ValueError) as exc:
        module.fail_json(msg=tagged(INPUT, "entries must be catalog entries from rewind.rollback.backup_info "
                                           "(with path and a known format): %s" % exc))
    bad = [r for r in results if not r["ok"]]
    if bad and p["fail_on_error"]:
        module.fail_json(msg=tagged(BACKUP, "%d of %d backups failed verification; do not restore from them: %s"
                                    % (len(bad), len(results),
                                       "; ".join("%s: %s" % (r["path"], r["reason"]) for r in bad))),
                         ok=False, results=results)
    module.exit_json(changed=False, ok=not bad, results=results)


if __name__ == "__main__":
    main()
