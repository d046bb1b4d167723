#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tree_restore
short_description: Restore a file tree (or parts of it) from an archive or a folder by swap-by-rename
version_added: 0.1.0
description:
  - Extracts the archive into a fresh folder next to the live tree (same filesystem), checks it,
    and exchanges it with the live tree (atomically with C(renameat2(RENAME_EXCHANGE)) where the
    kernel has it). Nothing is extracted over live files; a failure before the exchange leaves the
    live tree untouched.
  - The replaced tree is moved to O(snapshot_to); it is the pre-rollback snapshot, and swapping it
    back (O(src) set to that folder) undoes the rollback.
  - O(subpaths) restores only those paths (a plugin, a theme); O(preserve) carries live paths
    (uploads, config files) over into the restored tree unchanged.
  - Every archive member is checked on extraction, so absolute paths, C(..), links that escape
    the root, paths through an earlier symlink and device files are refused (and Python's tar
    C(data) filter applies where the managed host's Python has it);
    M(rewind.rollback.backup_verify) checks the same before the rollback starts.
  - When the live tree already equals the backup (same tree digest over paths, types, contents, link
    targets) nothing is done and the result is not changed.
author: rewind developers (@rewind)
options:
  src:
    description:
      - A tar archive (plain, gzip or zstd; compression detected from its first bytes), or a
        folder holding a tree (a snapshot to swap back).
      - Archives made by rewind have members C(./path). Archives whose members all sit under one
        top folder (C(tar -C /var/www -czf site.tar.gz demo)) have that folder stripped.
    type: path
    required: true
  dest:
    description: The live tree.
    type: path
    required: true
  subpaths:
    description: Relative paths to restore; the rest of the live tree is left as it is. Default the whole tree.
    type: list
    elements: str
  preserve:
    description: Relative paths kept from the live tree (only with the whole tree).
    type: list
    elements: str
    default: []
  expected_tree_sha256:
    description:
      - Tree digest of the paths being restored (for the whole tree without O(preserve), the
        C(tree_sha256) the manifest records). The extracted paths must match it before they go
        live, and live paths that match it mean there is nothing to do, whether or not O(src)
        still exists (a snapshot folder is consumed by swapping it back).
    type: str
  snapshot_to:
    description: Where the replaced live tree (or the replaced subpaths, under their relative paths) goes.
    type: path
    required: true
attributes:
  check_mode:
    support: full
    details: Compares tree digests and reports whether a restore would run; extracts nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Swap the site tree back to the backup's
  rewind.rollback.tree_restore:
    src: "{{ rewind_plan.backups.files.path }}"
    dest: /var/www/demo
    expected_tree_sha256: "{{ rewind_plan.backups.files.meta.tree_sha256 }}"
    snapshot_to: /var/www/demo.rewind-20261124T031500Z-pre-rollback

- name: Restore one plugin only
  rewind.rollback.tree_restore:
    src: /var/backups/rewind/demo/20261124T024500Z-pre-deploy/files.tar.zst
    dest: /var/www/demo
    subpaths: [wp-content/plugins/rewind-contact]
    snapshot_to: /var/www/demo.rewind-20261124T031500Z-pre-rollback

- name: Undo a rollback by swapping the snapshot back
  rewind.rollback.tree_restore:
    src: /var/www/demo.rewind-20261124T031500Z-pre-rollback
    dest: /var/www/demo
    snapshot_to: /var/www/demo.rewind-20261124T040000Z-undo
"""

RETURN = r"""
differs:
  description: Whether the live paths differed from the backup (in check mode, whether a restore would run).
  returned: always
  type: bool
restored:
  description: What was put in place, per path (C(.) is the whole tree) → exchanged, renamed, added or removed.
  returned: always
  type: dict
snapshot:
  description: Where the replaced live tree or paths now are (O(snapshot_to)), or null when nothing was replaced.
  returned: always
  type: str
tree_sha256:
  description: Tree digest of the restored paths.
  returned: always
  type: str
entries:
  description: Number of entries in the restored paths.
  returned: always
  type: int
"""

import os
import shutil
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import (
    ArchiveError, check_member, digest_dir, digest_tar_stream, open_decompressed)
from ansible_collections.rewind.rollback.plugins.module_utils._tree import fresh_dir, swap_in


# check_member() has refused every unsafe member before extraction; Python's own "data"
# filter (3.11.4+, not in every distribution's 3.11) is a second guard where it exists.
_EXTRACT = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _norm(name):
    while name.startswith("./"):
        name = name[2:]
    return "" if name == "." else name.rstrip("/")


def _under(rel, paths):
    return any(rel == p or rel.startswith(p + "/") for p in paths)


def _top_folder(src):
    """The single top folder every member sits in, or None.

    rewind's own archives start with member '.' (tar -C root -cf - .): no pass over the
    archive is spent on them. Foreign ones (tar -C /var/www -czf site.tar.gz demo) are read
    once to find their top folder.
    """
    tops = set()
    with open_decompressed(src) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.name in (".", "./") or member.name.startswith("./"):
                return None
            rel = _norm(member.name)
            tops.add(rel.split("/", 1)[0])
            if len(tops) > 1 or (not member.isdir() and "/" not in rel):
                return None
    return tops.pop() if len(tops) == 1 else None


def _extract(src, new, subpaths, preserve):
    """Stream the archive into new/, only the wanted members, each through the data filter."""
    strip = _top_folder(src)
    count, symlinks = 0, {}
    with open_decompressed(src) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            check_member(member, src, symlinks)
            rel = _norm(member.name)
            if strip is not None:
                rel = rel[len(strip) + 1:] if rel.startswith(strip + "/") else ""
            if not rel or (subpaths and not _under(rel, subpaths)) or _under(rel, preserve):
                continue
            member.name = rel
            if member.islnk():
                link = _norm(member.linkname)
                member.linkname = link[len(strip) + 1:] if strip and link.startswith(strip + "/") else link
            member.mode &= 0o777  # never setuid, setgid or sticky from a backup
            tar.extract(member, new, **_EXTRACT)
            count += 1
    return count


def _carry(src_root, dst_root, paths):
    """Move the given relative paths from one tree to the other by rename; return those moved."""
    moved = []
    for rel in paths:
        src, dst = os.path.join(src_root, rel), os.path.join(dst_root, rel)
        if os.path.lexists(src) and not os.path.lexists(dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.rename(src, dst)
            moved.append(rel)
    return moved


def _digest(root, subpaths, preserve):
    if not os.path.isdir(root):
        return None
    return digest_dir(root, subpaths=subpaths or None, exclude=preserve or None)["tree_sha256"]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            subpaths=dict(type="list", elements="str"),
            preserve=dict(type="list", elements="str", default=[]),
            expected_tree_sha256=dict(type="str"),
            snapshot_to=dict(type="path", required=True),
        ),
        mutually_exclusive=[("subpaths", "preserve")],
        supports_check_mode=True,
    )
    p = module.params
    src, dest, aside = p["src"], os.path.normpath(p["dest"]), os.path.normpath(p["snapshot_to"])
    subpaths = [_norm(s) for s in p["subpaths"] or []]
    preserve = [_norm(s) for s in p["preserve"]]
    if "" in subpaths:
        subpaths = []
    expected = p["expected_tree_sha256"]
    result = dict(changed=False, differs=False, restored={}, snapshot=None, tree_sha256=None, entries=0)
    if os.path.abspath(aside).startswith(dest + os.sep) or aside == dest:
        module.fail_json(msg="snapshot_to %s must be outside the live tree %s" % (aside, dest), **result)

    live_digest = _digest(dest, subpaths, preserve)
    if expected is not None and live_digest == expected:
        result["tree_sha256"] = live_digest
        module.exit_json(**result)
    if not os.path.exists(src):
        module.fail_json(msg="backup %s does not exist; list backups with rewind.rollback.backup_info" % src, **result)
    try:
        if module.check_mode:
            if expected is not None:
                wanted = expected
            elif os.path.isdir(src):
                wanted = _digest(src, subpaths, preserve)
            else:
                with open_decompressed(src) as stream:
                    wanted = digest_tar_stream(stream, subpaths=subpaths or None,
                                               exclude=preserve or None)["tree_sha256"]
            result.update(changed=wanted != live_digest, differs=wanted != live_digest, tree_sha256=wanted)
            module.exit_json(**result)

        staged = src if os.path.isdir(src) else fresh_dir(dest + ".rewind-new")
        try:
            if staged != src:
                _extract(src, staged, subpaths, preserve)
            new = digest_dir(staged, subpaths=subpaths or None, exclude=preserve or None)
            if expected is not None and new["tree_sha256"] != expected:
                module.fail_json(msg="the tree extracted from %s does not match its manifest (tree digest %s, "
                                 "expected %s); the live tree %s was not touched"
                                 % (src, new["tree_sha256"], expected, dest), **result)
            result.update(tree_sha256=new["tree_sha256"], entries=new["entries"])
            if new["tree_sha256"] == live_digest:
                module.exit_json(**result)
            if not subpaths and os.path.isdir(dest):
                os.chmod(staged, os.stat(dest).st_mode & 0o7777)
            carried = _carry(dest, staged, preserve)
            try:
                for rel in subpaths or [""]:
                    what = swap_in(os.path.join(staged, rel), os.path.join(dest, rel), os.path.join(aside, rel))
                    result["restored"][rel or "."] = what
            except OSError:
                if not result["restored"]:  # the live tree is still in place: give it its paths back
                    _carry(staged, dest, carried)
                raise
            result.update(changed=True, differs=True, snapshot=aside)
        finally:
            if staged != src and os.path.lexists(staged):
                shutil.rmtree(staged)
    except (ArchiveError, OSError, tarfile.TarError) as exc:
        module.fail_json(msg="restoring %s from %s failed: %s" % (dest, src, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
