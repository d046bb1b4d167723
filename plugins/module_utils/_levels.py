# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollback levels: the one table every playbook, module and policy reads.

Pure data and pure functions: no Ansible imports, so they unit-test in milliseconds.
"""

from __future__ import annotations

# number, name, what it restores, the time budget the plans give it, seed aliases.
LEVELS = (
    {"number": 1, "name": "flag", "restores": ("flags", "cache"), "budget_min": 1, "aliases": ()},
    {"number": 2, "name": "config", "restores": ("config",), "budget_min": 5, "aliases": ()},
    {"number": 3, "name": "code", "restores": ("code",), "budget_min": 15, "aliases": ("frontend",)},
    {"number": 4, "name": "database", "restores": ("db",), "budget_min": 30, "aliases": ("partial",)},
    {"number": 5, "name": "full", "restores": ("code", "config", "files", "db"), "budget_min": 120,
     "aliases": ()},
)

_BY_NAME = {}
for _lvl in LEVELS:
    _BY_NAME[_lvl["name"]] = _lvl
    _BY_NAME[str(_lvl["number"])] = _lvl
    for _alias in _lvl["aliases"]:
        _BY_NAME[_alias] = _lvl


class LevelError(ValueError):
    """An unknown level: the message names the bad value and the accepted ones."""


def accepted_names():
    """Every spelling a user may pass, canonical names first."""
    names = [lvl["name"] for lvl in LEVELS]
    names += [alias for lvl in LEVELS for alias in lvl["aliases"]]
    names += [str(lvl["number"]) for lvl in LEVELS]
    return names


def resolve_level(value):
    """Return the level dict for a name, alias or number (int or str).

    >>> resolve_level('partial')['name']
    'database'
    """
    key = str(value).strip().lower() if value is not None else ""
    try:
        return dict(_BY_NAME[key])
    except KeyError:
        raise LevelError(
            "unknown rollback level %r; accepted: %s (or 'auto' to let the decision engine choose)"
            % (value, ", ".join(accepted_names()))
        )


def level_name(value):
    return resolve_level(value)["name"]


def level_number(value):
    return resolve_level(value)["number"]


def level_label(value):
    """'3 (code)' for any spelling of a level, as messages and reports show it."""
    lvl = resolve_level(value)
    return "%d (%s)" % (lvl["number"], lvl["name"])
