# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times as the timeline stores them (ISO 8601) and durations as people read them."""

from __future__ import annotations

import datetime

from rewind.collection import module_utils


def epoch(value):
    """Seconds since the epoch of an ISO 8601 time; None when absent or unreadable."""
    return module_utils("_messages").epoch(value)


def clock(value):
    """``2025-11-24 03:12:09 UTC`` for an ISO 8601 time; the value itself when it is not one."""
    seconds = epoch(value)
    if seconds is None:
        return str(value) if value else "-"
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds):
    """``0.4s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return "%.1fs" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(int(round(seconds)), 60)
    hours, rest = divmod(int(round(seconds)), 3600)
    return "%dh%02dm" % (hours, rest // 60)
