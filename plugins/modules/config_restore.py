#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_restore
short_description: Restore config files and crontabs from a rewind config bundle
version_added: 0.1.0
description:
  - Restores files from a config bundle written by M(rewind.rollback.snapshot) (members are absolute
    paths without the leading C(/), crontabs are C(crontab/<user>)). Each file is written to a
    temporary file in its own folder and renamed over the live one, so a reader never sees half a file.
  - Only the paths asked for are written; a member the bundle has but that was not asked for is
    ignored, and a path asked for that the bundle lacks is an error.
  - Files recorded as absent at backup time are removed, crontabs recorded as absent are deleted,
    so the result equals the backed-up state. Unchanged files and crontabs are left alone.
author: rewind developers (@rewind)
options:
  src:
    description: The config bundle (tar, plain, gzip or zstd).
    type: path
    required: true
  files:
    description: Absolute paths to restore from the bundle.
    type: list
    elements: path
    default: []
  absent:
    description: Absolute paths that did not exist at backup time; removed if present.
    type: list
    elements: path
    default: []
  crontabs:
    description: "C({user: true|false}): whether each user had a crontab at backup time (from the manifest)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Restore wp-config.php, .htaccess and the www-data crontab
  rewind.rollback.config_restore:
    src: "{{ rewind_plan.backups.config.path }}"
    files: "{{ rewind_plan.backups.config.meta.files }}"
    absent: "{{ rewind_plan.backups.config.meta.absent }}"
    crontabs: "{{ rewind_plan.backups.config.meta.crontabs }}"
"""

RETURN = r"""
differs:
  description: Whether any file or crontab differed from the bundle (in check mode, whether a restore would run).
  returned: always
  type: bool
restored:
  description: Files and crontabs (C(crontab:<user>)) that were written or removed.
  returned: always
  type: list
  elements: str
"""

import os
import subprocess
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import open_decompressed


def _read_bundle(src, files, users):
    """{member name: (bytes, tarinfo)} for the wanted regular files and crontabs."""
    wanted = {f.lstrip("/") for f in files} | {"crontab/%s" % u for u in users}
    found = {}
    with open_decompressed(src) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = member.name[2:] if member.name.startswith("./") else member.name
            if name in wanted:
                if not member.isfile():
                    raise ValueError("%s: member %s is not a regular file" % (src, name))
                found[name] = (tar.extractfile(member).read(), member)
    missing = sorted(f for f in files if f.lstrip("/") not in found)
    if missing:
        raise ValueError("%s has no %s; it cannot restore them" % (src, ", ".join(missing)))
    return found


def _current(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path, data, info):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".rewind-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, info.mode & 0o7777)
        os.chown(tmp, info.uid, info.gid)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _crontab(user):
    proc = subprocess.run(["crontab", "-l", "-u", user], capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            files=dict(type="list", elements="path", default=[]),
            absent=dict(type="list", elements="path", default=[]),
            crontabs=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    users_with = [u for u, had in p["crontabs"].items() if module.boolean(had)]
    try:
        bundle = _read_bundle(p["src"], p["files"], users_with)
    except (OSError, ValueError, tarfile.TarError) as exc:
        module.fail_json(msg="cannot read config bundle %s: %s" % (p["src"], exc))

    restored = []
    for path in p["files"]:
        data, info = bundle[path.lstrip("/")]
        if _current(path) != data:
            restored.append(path)
            if not module.check_mode:
                _write(path, data, info)
    for path in p["absent"]:
        if os.path.lexists(path):
            restored.append(path)
            if not module.check_mode:
                os.unlink(path)
    for user, had in sorted(p["crontabs"].items()):
        wanted = bundle["crontab/%s" % user][0] if module.boolean(had) else None
        if _crontab(user) == wanted:
            continue
        restored.append("crontab:%s" % user)
        if module.check_mode:
            continue
        if wanted is None:
            module.run_command(["crontab", "-r", "-u", user], check_rc=True)
        else:
            module.run_command(["crontab", "-u", user, "-"], data=wanted, binary_data=True,
                               check_rc=True)
    module.exit_json(changed=bool(restored), differs=bool(restored), restored=restored)


if __name__ == "__main__":
    main()
