#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tree_perms
short_description: Set owner, group and modes of a whole tree in one pass
version_added: 0.1.0
description:
  - One walk over the tree that sets owner and group everywhere, one mode on directories and
    another on files, with per-path overrides (for example C(wp-config.php) not world-readable).
    It replaces C(chown -R) plus C(find -exec chmod {} \;), which starts one process per file.
  - Only what differs is changed, so a second run reports no change. Symbolic links are never
    followed; their own ownership is set.
author: rewind developers (@rewind)
options:
  path:
    description: Root of the tree.
    type: path
    required: true
  owner:
    description: Owner name or uid for every entry.
    type: str
    required: true
  group:
    description: Group name or gid for every entry.
    type: str
    required: true
  dir_mode:
    description: Mode of directories, as an octal string.
    type: str
    default: "0755"
  file_mode:
    description: Mode of regular files, as an octal string.
    type: str
    default: "0644"
  overrides:
    description: Per-path exceptions, relative to O(path). Each takes C(path) and C(mode), and optionally C(owner), C(group).
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Give the site back to the web server, directories 0755, files 0644
  rewind.rollback.tree_perms:
    path: /var/www/demo
    owner: www-data
    group: www-data
    overrides:
      - path: wp-config.php
        mode: "0640"
"""

RETURN = r"""
fixed:
  description: Number of entries whose owner, group or mode was changed.
  returned: always
  type: int
examined:
  description: Number of entries looked at.
  returned: always
  type: int
sample:
  description: Up to 20 of the paths that were fixed.
  returned: always
  type: list
  elements: str
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _uid(value):
    return int(value) if str(value).isdigit() else pwd.getpwnam(value).pw_uid


def _gid(value):
    return int(value) if str(value).isdigit() else grp.getgrnam(value).gr_gid


def _mode(value, what):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise ValueError("%s %r is not an octal mode such as \"0644\"" % (what, value))
    if mode & 0o002:
        raise ValueError("%s %s would make entries world-writable; refusing" % (what, value))
    return mode


def _walk(root):
    yield root
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            yield os.path.join(parent, name)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            dir_mode=dict(type="str", default="0755"),
            file_mode=dict(type="str", default="0644"),
            overrides=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = os.path.normpath(p["path"])
    if not os.path.isdir(root):
        module.fail_json(msg="%s is not a directory" % root)
    try:
        uid, gid = _uid(p["owner"]), _gid(p["group"])
        dir_mode, file_mode = _mode(p["dir_mode"], "dir_mode"), _mode(p["file_mode"], "file_mode")
        overrides = {}
        for item in p["overrides"]:
            path = os.path.normpath(os.path.join(root, item["path"]))
            overrides[path] = (_uid(item.get("owner") or p["owner"]), _gid(item.get("group") or p["group"]),
                               _mode(item["mode"], "mode of %s" % item["path"]))
    except (KeyError, ValueError) as exc:
        module.fail_json(msg="bad owner, group or mode: %s" % exc)

    fixed, examined, sample = 0, 0, []
    for path in _walk(root):
        examined += 1
        st = os.lstat(path)
        is_link = stat.S_ISLNK(st.st_mode)
        want_uid, want_gid, want_mode = overrides.get(
            path, (uid, gid, dir_mode if stat.S_ISDIR(st.st_mode) else file_mode))
        wrong_owner = (st.st_uid, st.st_gid) != (want_uid, want_gid)
        wrong_mode = not is_link and stat.S_IMODE(st.st_mode) != want_mode
        if not (wrong_owner or wrong_mode):
            continue
        fixed += 1
        if len(sample) < 20:
            sample.append(os.path.relpath(path, root))
        if module.check_mode:
            continue
        if wrong_owner:
            os.lchown(path, want_uid, want_gid)
        if wrong_mode:
            os.chmod(path, want_mode)
    module.exit_json(changed=fixed > 0, fixed=fixed, examined=examined, sample=sample)


if __name__ == "__main__":
    main()
