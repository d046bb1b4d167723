# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Releases: the ``current`` symlink and the append-only ledger ``releases.json``.

Layout (as ansistrano and capistrano lay it out)::

    <app_root>/releases/<id>/        one directory per release
    <app_root>/current -> releases/<id>

The current release is read from the symlink, never guessed from directory times.
Tiers deployed in place (WordPress) have no release directories: the ledger alone
records their releases, and :func:`current_from_ledger` says which one is live.

The ledger is append-only: releases are added and flagged ``bad``, never removed::

    {"rewind_ledger": 1,
     "releases": [{"id", "revision", "time", "migrations", "backup_id", "bad",
                   "deployed_by"?, "note"?}, ...],
     "events": [{"time", "action", "release", "previous", "by"?, "note"?}, ...]}

Event actions: ``record``, ``switch``, ``rollback`` (``release`` is the release live
after the event, ``previous`` the one live before) and ``mark_bad`` (``release`` is the
release marked bad, ``previous`` is null). Times are ISO-8601 UTC with a Z.

Functions over a ledger are pure: they return a new ledger and whether it changed,
and never modify their argument. Reading and writing: load_ledger, ledger_lock,
save_ledger; the symlink: current_release, on_disk, switch.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os

from ansible_collections.rewind.rollback.plugins.module_utils._lock import (
    flocked, fsync_dir, timestamp, write_json_atomic)

LEDGER_VERSION = 1
_LIVE_ACTIONS = ("record", "switch", "rollback")
_OPTIONAL_FIELDS = ("migrations", "backup_id", "note")


class ReleaseError(Exception):
    """A release operation was refused; the message names the path or id and what to do."""


class ReleaseInputError(ReleaseError):
    """The id, revision or target given is wrong (unknown, reused, not on disk); nothing was changed."""


def _listing(names):
    return ", ".join(names) if names else "(none)"


def check_id(release_id):
    """Return release_id if it can name a directory under releases/, else raise."""
    if not isinstance(release_id, str) or release_id in ("", ".", "..") or "/" in release_id \
            or "\0" in release_id:
        raise ReleaseInputError("invalid release id %r: it names a directory under releases/, so it must "
                                "be non-empty, not '.' or '..', and contain no '/'" % (release_id,))
    return release_id


# --- the ledger: pure functions -------------------------------------------------------

def empty_ledger():
    return {"rewind_ledger": LEDGER_VERSION, "releases": [], "events": []}


def release_ids(ledger):
    return [entry["id"] for entry in ledger["releases"]]


def find_release(ledger, release_id):
    """The ledger entry for release_id, or None."""
    for entry in ledger["releases"]:
        if entry["id"] == release_id:
            return entry
    return None


def _require(ledger, release_id):
    entry = find_release(ledger, release_id)
    if entry is None:
        raise ReleaseInputError("release %r is not in the ledger; recorded releases: %s"
                                % (release_id, _listing(release_ids(ledger))))
    return entry


def _last_live_event(ledger, release_id=None):
    for event in reversed(ledger["events"]):
        if event["action"] in _LIVE_ACTIONS and release_id in (None, event["release"]):
            return event
    return None


def _event(action, release, previous, now, by, note):
    event = {"time": timestamp(now), "action": action, "release": release, "previous": previous}
    if by:
        event["by"] = by
    if note:
        event["note"] = note
    return event


def add_event(ledger, action, release, previous, now=None, by=None, note=None):
    """A copy of ledger with one event appended."""
    new = copy.deepcopy(ledger)
    new["events"].append(_event(action, release, previous, now, by, note))
    return new


def current_from_ledger(ledger):
    """The release live according to the ledger alone (tiers without release directories).

    That is the newest recorded release not rolled back: the release of the latest
    record, switch or rollback event. Recording a release means it was deployed, and a
    rollback makes its target live again even past releases that were never marked
    bad. Marking a release bad does not replace it: only a rollback does. None when
    nothing was recorded.
    """
    event = _last_live_event(ledger)
    return event["release"] if event else None


def previous_good(ledger, current_id):
    """The newest release recorded before current_id that is not marked bad.

    None when there is none, or when current_id is not in the ledger (then "before"
    has no meaning and guessing could pick a newer release).
    """
    ids = release_ids(ledger)
    if current_id not in ids:
        return None
    for entry in reversed(ledger["releases"][:ids.index(current_id)]):
        if not entry["bad"]:
            return entry["id"]
    return None


def deployed_at(ledger, release_id):
    """When release_id last became live (record, switch or rollback to it), or None."""
    event = _last_live_event(ledger, release_id)
    return event["time"] if event else None


def record(ledger, entry, now=None, by=None):
    """Append a release (entry: id, revision, and optionally migrations, backup_id, note).

    Returns (ledger, changed). Recording the same id and revision again changes
    nothing; another revision under a recorded id is refused, as ids are never reused.
    """
    release_id = check_id(entry.get("id"))
    revision = entry.get("revision")
    if not revision:
        raise ReleaseInputError("release %r has no revision: record the commit or version it was built "
                                "from" % release_id)
    existing = find_release(ledger, release_id)
    if existing is not None:
        if existing["revision"] == revision:
            return ledger, False
        raise ReleaseInputError(
            "release %r is already recorded with revision %r (at %s); refusing to record revision %r "
            "under the same id. Release ids are never reused: give this build a new id."
            % (release_id, existing["revision"], existing["time"], revision))
    new_entry = {"id": release_id, "revision": revision, "time": timestamp(now),
                 "migrations": list(entry.get("migrations") or []), "backup_id": entry.get("backup_id"),
                 "bad": False}
    if by:
        new_entry["deployed_by"] = by
    if entry.get("note"):
        new_entry["note"] = entry["note"]
    new = add_event(ledger, "record", release_id, current_from_ledger(ledger), now, by, None)
    new["releases"].append(new_entry)
    return new, True


def unrecorded_fields(ledger, entry):
    """Fields of entry that differ from the recorded release with the same id.

    Recording again is a no-op (the ledger is append-only), so these were not saved;
    callers warn about them.
    """
    existing = find_release(ledger, entry.get("id"))
    if existing is None:
        return []
    return [field for field in _OPTIONAL_FIELDS
            if entry.get(field) and entry[field] != existing.get(field)]


def _flag_bad(ledger, release_id):
    new = copy.deepcopy(ledger)
    find_release(new, release_id)["bad"] = True
    return new


def mark_bad(ledger, release_id, now=None, by=None, note=None):
    """Flag a recorded release bad, so previous_good skips it. Returns (ledger, changed)."""
    if _require(ledger, release_id)["bad"]:
        return ledger, False
    new = _flag_bad(ledger, release_id)
    new["events"].append(_event("mark_bad", release_id, None, now, by, note))
    return new, True


def rollback(ledger, from_id, to_id, now=None, by=None, note=None):
    """Record that from_id was rolled back to to_id, and flag from_id bad.

    Returns (ledger, changed). Recording the same rollback again, with nothing live
    changed since, is not a change. to_id need not be recorded (it may predate the
    ledger).
    """
    check_id(to_id)
    if to_id == from_id:
        raise ReleaseInputError("cannot record a rollback of release %r to itself; the target must be "
                                "the release now live" % from_id)
    bad = _require(ledger, from_id)
    last = _last_live_event(ledger)
    if bad["bad"] and last is not None and last["action"] == "rollback" \
            and (last["release"], last["previous"]) == (to_id, from_id):
        return ledger, False
    new = _flag_bad(ledger, from_id)
    new["events"].append(_event("rollback", to_id, from_id, now, by, note))
    return new, True


# --- the ledger file ------------------------------------------------------------------

def _validate(data, path):
    def refuse(problem):
        raise ReleaseError("%s is not a usable rewind ledger: %s. rewind writes it atomically, so it was "
                           "edited by hand or damaged: restore it from a backup or repair it."
                           % (path, problem))

    if not isinstance(data, dict) or "rewind_ledger" not in data:
        refuse("no rewind_ledger key")
    if data["rewind_ledger"] != LEDGER_VERSION:
        raise ReleaseError("ledger %s has format version %r; this collection reads version %d. Upgrade "
                           "the rewind.rollback collection." % (path, data["rewind_ledger"], LEDGER_VERSION))
    for key, fields in (("releases", ("id", "revision", "bad")),
                        ("events", ("time", "action", "release", "previous"))):
        items = data.get(key)
        if not isinstance(items, list):
            refuse("%s is not a list" % key)
        for item in items:
            if not isinstance(item, dict) or any(field not in item for field in fields):
                refuse("an item of %s lacks one of %s: %r" % (key, ", ".join(fields), item))


def load_ledger(path):
    """The ledger at path; an empty ledger when the file does not exist yet."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return empty_ledger()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReleaseError("ledger %s is not valid JSON (%s). rewind writes it atomically, so it was edited "
                           "by hand or damaged: restore it from a backup or repair it." % (path, exc))
    _validate(data, path)
    return data


@contextlib.contextmanager
def ledger_lock(path, check_mode=False):
    """Hold the ledger's lock (the sidecar ``<path>.lock``) around load → change → save.

    In check mode no lock is taken, since creating the lock file would be a write.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ReleaseError("the directory %s of ledger %s does not exist; create it first (e.g. with "
                           "ansible.builtin.file state=directory) or point ledger elsewhere"
                           % (directory, path))
    with contextlib.nullcontext() if check_mode else flocked(path + ".lock"):
        yield


def save_ledger(path, ledger):
    """Write the ledger atomically, mode 0640. Call it inside ledger_lock."""
    write_json_atomic(path, ledger)


# --- release directories and the current symlink ---------------------------------------

def on_disk(app_root):
    """Ids of the release directories under <app_root>/releases, sorted by name."""
    releases_dir = os.path.join(app_root, "releases")
    try:
        names = os.listdir(releases_dir)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if os.path.isdir(os.path.join(releases_dir, name)))


def current_release(app_root):
    """The release <app_root>/current points to, read with readlink; None without a link.

    The link may be relative (``releases/<id>``, as switch writes it) or absolute, and
    may dangle (the id is still returned). Raises ReleaseError when ``current`` is not a
    symlink or does not point into <app_root>/releases.
    """
    link = os.path.join(app_root, "current")
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        kind = "directory" if os.path.isdir(link) else "file"
        raise ReleaseError(
            "%s is a real %s, not a symlink. rewind reads the current release from a symlink "
            "current -> releases/<id> and switches it atomically: move the %s into releases/<id> and "
            "create the symlink, or leave app_root unset for a tier deployed in place." % (link, kind, kind))
    parent, release_id = os.path.split(os.path.normpath(os.path.join(app_root, target)))
    if os.path.realpath(parent) != os.path.realpath(os.path.join(app_root, "releases")):
        raise ReleaseError("%s points to %s, outside %s/releases; rewind only reads and switches a current "
                           "symlink of the form releases/<id>. Point it at the live release by hand."
                           % (link, target, app_root))
    return release_id


def check_release_dir(app_root, release_id):
    """The path of releases/<release_id>; raises unless it is a non-empty directory."""
    path = os.path.join(app_root, "releases", check_id(release_id))
    if not os.path.isdir(path):
        problem = "does not exist"
    elif not os.listdir(path):
        problem = "is empty"
    else:
        return path
    raise ReleaseInputError("cannot switch %s/current to release %r: %s %s. Releases on disk: %s. Check "
                            "the release id, or restore that release directory first."
                            % (app_root, release_id, path, problem, _listing(on_disk(app_root))))


def switch(app_root, release_id, check_mode=False):
    """Point <app_root>/current at releases/<release_id> atomically; return the previous id.

    A new symlink ``current.tmp-<pid>`` is renamed over ``current``, so a reader always
    finds a valid link. Nothing happens when release_id is already current, or in
    check mode (which still validates).
    """
    check_release_dir(app_root, release_id)
    previous = current_release(app_root)
    if previous == release_id or check_mode:
        return previous
    link = os.path.join(app_root, "current")
    tmp = "%s.tmp-%d" % (link, os.getpid())
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # left by a killed run that had the same pid
    os.symlink(os.path.join("releases", release_id), tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(app_root)
    return previous
