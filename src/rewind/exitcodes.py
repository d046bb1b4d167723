# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exit statuses of the ``rewind`` command: the one table scripts and AWX can rely on.

A playbook reports why it stopped by starting the failure message with a tag from
``plugins/module_utils/_errors.py`` (``REWIND-E-VERIFY: …``). The CLI takes the first tagged
failure of the run and exits with the status of that tag; a run that failed without a tag
exits with ``FAILURE``.
"""

from __future__ import annotations

import enum

from rewind.collection import module_utils


class Exit(enum.IntEnum):
    OK = 0
    FAILURE = 1
    BAD_INPUT = 2
    VERIFY_FAILED = 3
    NO_ROLLBACK = 4
    LOCKED = 5
    BACKUP = 6
    INTERRUPTED = 130


MEANING = {
    Exit.OK: "done: the rollback (or plan, decision, undo, listing) completed and verified",
    Exit.FAILURE: "failed for another reason (a task, an unreachable host, a missing playbook); read the report",
    Exit.BAD_INPUT: "bad input: an unknown level, tier, backup id or option; nothing was changed",
    Exit.VERIFY_FAILED: "the rollback ran but the verification after it failed",
    Exit.NO_ROLLBACK: "decided not to roll back (fix forward, or no trigger fired)",
    Exit.LOCKED: "another run holds the rollback lock of this application",
    Exit.BACKUP: "the backup to restore is missing, incomplete or corrupt",
    Exit.INTERRUPTED: "interrupted (Ctrl-C); the run folder keeps what was done",
}


def for_tag(tag):
    """The exit status of a failure tag (None: an untagged failure, FAILURE)."""
    errors = module_utils("_errors")
    return {
        errors.INPUT: Exit.BAD_INPUT,
        errors.VERIFY: Exit.VERIFY_FAILED,
        errors.NO_ROLLBACK: Exit.NO_ROLLBACK,
        errors.LOCKED: Exit.LOCKED,
        errors.BACKUP: Exit.BACKUP,
    }.get(tag, Exit.FAILURE)


def epilog():
    """The exit statuses as ``--help`` shows them."""
    return "exit statuses:\n" + "\n".join("  %3d  %s" % (code, MEANING[code]) for code in Exit)
