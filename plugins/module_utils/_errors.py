# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stable tags that start a rollback's failure messages: the one place they are defined.

A failure that the ``rewind`` CLI (and an operator reading AWX's job output) must tell apart
starts its message with a tag and a colon::

    REWIND-E-LOCKED: laravel is being rolled back by run 20250101-... (alice@ops1, since ...)

Modules build such messages with :func:`tagged`; playbooks write the tag literally, for example
``ansible.builtin.fail: msg="REWIND-E-INPUT: unknown tier 'larvel'; accepted: ..."``.
The CLI maps the tag of the first tagged failure to its exit status (``rewind.exitcodes``).

Pure Python, no Ansible imports: usable from modules, plugins and the CLI alike.
"""

from __future__ import annotations

import re

#: Bad input: an unknown level, tier or backup id, a missing variable. Nothing was changed.
INPUT = "REWIND-E-INPUT"
#: The rollback ran but the verification after it failed.
VERIFY = "REWIND-E-VERIFY"
#: Another run holds the application's rollback lock.
LOCKED = "REWIND-E-LOCKED"
#: The backup to restore is missing, incomplete or fails its checksums.
BACKUP = "REWIND-E-BACKUP"
#: The decision was not to roll back (fix forward, or nothing is wrong). Not an error of rewind.
NO_ROLLBACK = "REWIND-NOROLLBACK"

TAGS = (INPUT, VERIFY, LOCKED, BACKUP, NO_ROLLBACK)

_TAG_RE = re.compile(r"^\s*(%s):" % "|".join(re.escape(t) for t in TAGS))


def tagged(tag, message):
    """Return ``message`` prefixed with ``tag`` (one of :data:`TAGS`).

    >>> tagged(LOCKED, 'held by run 42')
    'REWIND-E-LOCKED: held by run 42'
    """
    if tag not in TAGS:
        raise ValueError("unknown rewind failure tag %r; known: %s" % (tag, ", ".join(TAGS)))
    return "%s: %s" % (tag, message)


def failure_message(result):
    """The message of a failed task's result; for a loop, the first failed item's own message
    (the task's is only "One or more items failed").

    >>> failure_message({'msg': 'One or more items failed', 'results': [{'failed': False}, {'failed': True, 'msg': 'x'}]})
    'x'
    """
    if not isinstance(result, dict):
        return ""
    for item in result.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            inner = failure_message(item)
            if inner:
                return inner
    return str(result.get("msg") or result.get("reason") or result.get("stderr") or "").strip()


def tag_of(message):
    """Return the tag a failure message starts with, or None.

    >>> tag_of('REWIND-E-VERIFY: https://shop/health answered 502')
    'REWIND-E-VERIFY'
    >>> tag_of('Connection refused') is None
    True
    """
    if not isinstance(message, str):
        return None
    match = _TAG_RE.match(message)
    return match.group(1) if match else None
