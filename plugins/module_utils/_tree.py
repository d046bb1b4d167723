# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swap file trees by rename: restore next to the live tree, then exchange.

Extracting over live files leaves a half-old, half-new site when it fails and loses what
it overwrites. Instead the backup is extracted into a sibling folder on the same
filesystem and exchanged with the live one: with ``renameat2(RENAME_EXCHANGE)`` in one
atomic step (Linux ≥ 3.15), else with two renames. The replaced tree is kept: it is the
pre-rollback snapshot, and swapping back undoes the rollback.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _libc_renameat2():
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return func


_RENAMEAT2 = _libc_renameat2()


def exchange(a, b):
    """Atomically exchange two existing paths; False if the system cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), a)


def _move(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.rename(src, dst)


def swap_in(new, live, aside):
    """Put ``new`` at ``live``; whatever was at ``live`` ends at ``aside``.

    Either side may be missing: a path the backup has and the live tree lacks is
    added, one only the live tree has is moved aside (so the result equals the backup).
    Returns what happened: ``exchanged``, ``renamed``, ``added``, ``removed`` or ``none``.
    """
    has_new, has_live = os.path.lexists(new), os.path.lexists(live)
    if os.path.lexists(aside):
        raise FileExistsError(errno.EEXIST, "snapshot path already exists; refusing to overwrite it", aside)
    if has_new and has_live:
        if exchange(new, live):
            _move(new, aside)
            return "exchanged"
        _move(live, aside)
        os.rename(new, live)
        return "renamed"
    if has_new:
        _move(new, live)
        return "added"
    if has_live:
        _move(live, aside)
        return "removed"
    return "none"


def fresh_dir(path):
    """An empty folder at path (a leftover from a crashed run is removed first)."""
    if os.path.lexists(path):
        shutil.rmtree(path)
    os.makedirs(path, mode=0o700)
    return path
