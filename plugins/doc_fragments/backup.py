# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of the backup catalog modules; the argument spec is backup_argument_spec() in
    # plugins/module_utils/_backups.py.
    DOCUMENTATION = r"""
options:
  root:
    description:
      - Folder holding the backups of one application.
      - It may hold rewind backup sets (C(<root>/<set_id>/manifest.json), written by
        M(rewind.rollback.snapshot)) and backups named like the tiers' own scripts, side by side
        (C(db_backup_YYYYMMDD.sql.gz), C(backup_YYYYMMDD_HHMMSS.sql), C(<site>_YYYYMMDD.tar.gz),
        mongodump and mydumper folders, C(.env.backup), C(crontab_backup), symlinks such as
        C(latest_backup.sql)). Only its direct children are read.
    type: path
    required: true
  tier:
    description:
      - Only backups of this tier (for example V(wordpress)). Backups without a manifest record
        no tier and always match.
    type: str
notes:
  - Times in foreign backup names are read as UTC. A name with only a date (C(db_backup_20261123.sql.gz))
    counts as taken at the start of that day and is marked C(weak), as is a backup whose time comes from
    its file's modification time.
"""
