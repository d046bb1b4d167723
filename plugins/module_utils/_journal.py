# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run journal: how far a rollback run got on a host, so that a re-run continues it.

One JSON file per run, ``<rewind_state_dir>/runs/<run_id>.json``::

    {"rewind_journal": 1, "run_id", "status": "running" | "failed" | "finished" | "abandoned",
     "created_at", "updated_at",
     "request": {"tier", "level", "undo", "scope"},   what was asked (a re-run must ask the same)
     "todo": [...], "backups": {kind: path},          what the first attempt planned, from where
     "snapshot": {"id", "path", "parts"} | null,      the pre-rollback snapshot, once taken
     "completed": [phase, ...],                       phases completed by any attempt, in order
     "current": phase | null,                         the phase started and not completed
     "attempts": [{"id", "started_at", "ended": null | "finished" | "failed" | "stopped",
                   "phases": [{"name", "started_at", "completed_at"}]}],
     "failure": {"phase", "msg", "at", "attempt"} | null}

The tier role records each phase as it starts (which completes the one before); the first
record creates the journal. A run is *unfinished* while its status is running or failed: a
killed ``ansible-playbook`` leaves it running, a failed one leaves it failed. The next run on
the host continues the unfinished run rather than starting a second one: it takes over its id,
hence its snapshot set ``<run_id>-pre-rollback``. That is the point of the journal. After a crash
half way through the restore, a new snapshot would capture a half-restored site, and undo would
bring that back instead of what was live before the rollback.

The snapshot set on disk is the truth about the snapshot: its ``manifest.json`` is written last
(atomically), so a set with a manifest is complete, whatever the journal managed to record before
a crash. :func:`snapshot_status` reads it and checks the files it lists.

Pure Python, no Ansible imports; files are written with the lock's atomic writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible_collections.rewind.rollback.plugins.module_utils._lock import (
    DIR_MODE, timestamp, utc_now, write_json_atomic)

SCHEMA = 1
UNFINISHED = ("running", "failed")
FINISHED = ("finished", "abandoned")
SNAPSHOT_SUFFIX = "-pre-rollback"
SNAPSHOT_KINDS = ("db", "files", "config")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")
# Request keys a re-run must repeat to continue a run, and how a message names them.
_REQUEST_KEYS = (("tier", "tier"), ("level", "level"), ("undo", "undo"), ("scope", "scope"))


class JournalError(Exception):
    """A journal cannot be read or used; the message says what to do."""


# --- files ----------------------------------------------------------------------------------

def check_run_id(run_id):
    """A run id names a file: letters, digits and ._:+- only, at most 128 characters."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise JournalError("invalid run id %r: it names the journal file runs/<run_id>.json, so use letters, "
                           "digits and . _ : + - only (at most 128 characters)" % (run_id,))
    return run_id


def journal_path(runs_dir, run_id):
    return os.path.join(runs_dir, check_run_id(run_id) + ".json")


def load(path):
    """The journal at path, or None when there is none. Raises JournalError when unreadable."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise JournalError("run journal %s is unreadable (%s). rewind writes it atomically, so it was edited "
                           "by hand or the disk failed; move it away to start afresh (the snapshot it names "
                           "stays where it is)" % (path, exc))
    if not isinstance(data, dict) or data.get("rewind_journal") != SCHEMA or not data.get("run_id"):
        raise JournalError("%s is not a rewind run journal (schema %d)" % (path, SCHEMA))
    return data


def load_all(runs_dir):
    """(journals oldest first, [(path, problem)] of unreadable files) of a runs folder."""
    journals, unreadable = [], []
    try:
        names = sorted(os.listdir(runs_dir))
    except FileNotFoundError:
        return journals, unreadable
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(runs_dir, name)
        try:
            journal = load(path)
        except JournalError as exc:
            unreadable.append((path, str(exc)))
            continue
        if journal is not None:
            journals.append(journal)
    journals.sort(key=lambda j: (j.get("created_at") or "", j["run_id"]))
    return journals, unreadable


def save(runs_dir, journal, now=None):
    """Write the journal atomically (0640 in a 0750 folder), stamping updated_at."""
    journal["updated_at"] = timestamp(now)
    os.makedirs(runs_dir, mode=DIR_MODE, exist_ok=True)
    write_json_atomic(journal_path(runs_dir, journal["run_id"]), journal)
    return journal


# --- the journal's life ------------------------------------------------------------------------

def new(run_id, request=None, todo=None, backups=None, now=None):
    stamp = timestamp(now)
    return {"rewind_journal": SCHEMA, "run_id": check_run_id(run_id), "status": "running",
            "created_at": stamp, "updated_at": stamp, "request": dict(request or {}),
            "todo": list(todo or []), "backups": dict(backups or {}), "snapshot": None,
            "completed": [], "current": None, "attempts": [], "failure": None}


def _attempt(journal, attempt_id, now):
    """The attempt entry of attempt_id, appended when this is its first record."""
    for entry in journal["attempts"]:
        if entry["id"] == attempt_id:
            return entry
    entry = {"id": attempt_id, "started_at": timestamp(now), "ended": None, "phases": []}
    journal["attempts"].append(entry)
    return entry


def _close_open_phase(journal, now):
    for entry in journal["attempts"]:
        for phase in entry["phases"]:
            if phase["completed_at"] is None:
                phase["completed_at"] = timestamp(now)
                if phase["name"] not in journal["completed"]:
                    journal["completed"].append(phase["name"])
    journal["current"] = None


def start_phase(journal, phase, attempt_id, now=None):
    """Record that ``phase`` starts in attempt ``attempt_id``, completing the phase before it.

    Returns True when the journal changed: recording the phase that is already open in the
    same attempt again changes nothing.
    """
    entry = _attempt(journal, attempt_id, now)
    if entry["phases"] and entry["phases"][-1]["name"] == phase and entry["phases"][-1]["completed_at"] is None:
        return False
    _close_open_phase(journal, now)
    entry["phases"].append({"name": phase, "started_at": timestamp(now), "completed_at": None})
    entry["ended"] = None
    journal.update(status="running", current=phase, failure=None)
    return True


def finish(journal, attempt_id, now=None):
    """The run completed: every phase done. Returns True when the journal changed."""
    if journal["status"] == "finished":
        return False
    _close_open_phase(journal, now)
    _attempt(journal, attempt_id, now)["ended"] = "finished"
    journal.update(status="finished", failure=None)
    return True


def fail(journal, attempt_id, msg, stopped=False, now=None):
    """The run failed (or was stopped for the fleet) in its current phase; it stays unfinished."""
    if journal["status"] in FINISHED:
        return False
    _attempt(journal, attempt_id, now)["ended"] = "stopped" if stopped else "failed"
    journal.update(status="failed", failure={"phase": journal["current"], "msg": msg, "at": timestamp(now),
                                             "attempt": attempt_id, "stopped": bool(stopped)})
    return True


def abandon(journal, by, now=None):
    """Give an unfinished run up on purpose; its snapshot stays. Returns True when changed."""
    if journal["status"] in FINISHED:
        return False
    journal.update(status="abandoned", abandoned={"by": by, "at": timestamp(now)})
    return True


def record_snapshot(journal, status):
    """Keep the snapshot status (see snapshot_status) of a taken snapshot in the journal."""
    if not status or not status.get("taken"):
        return False
    wanted = {"id": status["id"], "path": status["path"], "parts": status["parts"]}
    if journal.get("snapshot") == wanted:
        return False
    journal["snapshot"] = wanted
    return True


# --- choosing the run to continue --------------------------------------------------------------

def is_unfinished(journal):
    return journal.get("status") in UNFINISHED


def run_to_continue(journals, run_id):
    """The unfinished run this run continues, or None.

    The run named ``run_id`` when it is unfinished (``-e rewind_run_id=<id>`` after a crash),
    else the newest unfinished run on the host (a plain re-run of the same rollback).
    """
    unfinished = [j for j in journals if is_unfinished(j)]
    for journal in unfinished:
        if journal["run_id"] == run_id:
            return journal
    return unfinished[-1] if unfinished else None


def describe(journal):
    """One line about a run for an operator: request, progress, failure."""
    request = journal.get("request") or {}
    what = "%s %s" % ("undo" if request.get("undo") else "rollback",
                      "at level %s" % request["level"] if request.get("level") else "")
    done = ", ".join(journal.get("completed") or []) or "none"
    line = "run %s (%s, %s since %s; phases completed: %s" % (
        journal["run_id"], what.strip(), journal.get("status"), journal.get("created_at"), done)
    if journal.get("current"):
        line += "; %s was under way" % journal["current"]
    line += ")"
    failure = journal.get("failure")
    if failure:
        line += "; %s at %s: %s" % ("stopped for the fleet" if failure.get("stopped") else "failed",
                                     failure.get("phase") or "its start", failure.get("msg"))
    return line


def _known(value):
    """A request value that says something (an empty tier or scope means "not given")."""
    return value is not None and value != "" and value != {}


def request_conflict(journal, request, run_id):
    """Why this request cannot continue the unfinished run ``journal``, or None.

    A re-run continues a run only when it asks for the same thing (tier, level, undo or not,
    scope). Anything else would restore over the run's half-done work with another plan, or
    take a second snapshot of a half-restored host.
    """
    if journal is None:
        return None
    asked = journal.get("request") or {}
    differences = []
    for key, label in _REQUEST_KEYS:
        if _known(asked.get(key)) and _known(request.get(key)) and asked[key] != request[key]:
            differences.append("%s %s, not %s" % (label, json.dumps(request[key]), json.dumps(asked[key])))
    if not differences:
        return None
    return ("%s is unfinished on this host, and this request differs from it (%s). A host continues its "
            "unfinished run before anything else: re-run that rollback as it was asked (same level, tier and "
            "scope%s) and it resumes where it stopped, without a second snapshot; undo it afterwards if needed. "
            "To give it up instead, pass -e rewind_abandon_run=%s (its snapshot %s is kept). This request "
            "(run %s) changed nothing."
            % (describe(journal), "; ".join(differences), ", with -e rewind_undo=true" if asked.get("undo") else "",
               journal["run_id"], (journal.get("snapshot") or {}).get("path") or "(none taken yet)", run_id))


def backups_conflict(journal, backups):
    """Why the backups chosen now differ from those the unfinished run restores from, or None."""
    if journal is None or not journal.get("backups"):
        return None
    changed = sorted(kind for kind in set(journal["backups"]) | set(backups)
                     if kind in journal["backups"] and kind in backups and journal["backups"][kind] != backups[kind])
    if not changed:
        return None
    return ("%s restores from %s, but this plan chose %s. Continue it with the same backups "
            "(-e rewind_backup_id=…), or give it up with -e rewind_abandon_run=%s."
            % (describe(journal), ", ".join("%s %s" % (k, journal["backups"][k]) for k in changed),
               ", ".join("%s %s" % (k, backups[k]) for k in changed), journal["run_id"]))


# --- the snapshot on disk -----------------------------------------------------------------------

def snapshot_id(run_id):
    return run_id + SNAPSHOT_SUFFIX


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot_status(path, verify=True):
    """What the snapshot set at path holds: {taken, id, path, parts, moved, problems}.

    taken: its manifest.json exists (written last, so the set is complete). parts: the kinds it
    holds. moved: {kind: folder} of the parts a restore moves aside by rename (the site tree, a
    data directory), which exist once that restore ran. problems: files the manifest lists that
    are missing or do not match their size or sha256 (with verify).
    """
    status = {"taken": False, "id": os.path.basename(os.path.normpath(path)), "path": path, "parts": [],
              "moved": {}, "problems": []}
    manifest_path = os.path.join(path, "manifest.json")
    try:
        with open(manifest_path) as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        return status
    except (OSError, ValueError) as exc:
        status["problems"].append("manifest %s is unreadable: %s" % (manifest_path, exc))
        return status
    status["taken"] = True
    for item in manifest.get("files") or []:
        kind = item.get("kind")
        if kind and kind not in status["parts"]:
            status["parts"].append(kind)
        if item.get("format") == "dir" or item.get("moved_by"):
            status["moved"][kind] = item.get("path")
            continue
        if not verify or not item.get("path"):
            continue
        file_path = os.path.join(path, item["path"])
        if not os.path.isfile(file_path):
            status["problems"].append("%s is missing" % file_path)
        elif item.get("size") is not None and os.path.getsize(file_path) != item["size"]:
            status["problems"].append("%s has %d bytes, the manifest says %d"
                                      % (file_path, os.path.getsize(file_path), item["size"]))
        elif item.get("sha256") and _sha256(file_path) != item["sha256"]:
            status["problems"].append("%s does not match its sha256 in the manifest" % file_path)
    return status


def uncovered(parts, status):
    """The parts about to be restored over that the snapshot does not hold (all of them if none)."""
    held = set(status["parts"]) if status and status.get("taken") else set()
    return [part for part in parts if part in SNAPSHOT_KINDS and part not in held]


def resume_facts(journal, status):
    """What the plan takes over from the run it continues: its id, progress and snapshot.

    The snapshot facts are those a tier's snapshot phase sets (rewind_plan.snapshot, and for
    parts moved aside by rename snapshot_tree and snapshot_datadir), so the tier skips its
    snapshot phase and restores to the same places.
    """
    facts = {"run_id": journal["run_id"],
             "resumed": {"run_id": journal["run_id"], "status": journal["status"],
                         "completed": list(journal.get("completed") or []), "current": journal.get("current"),
                         "attempts": len(journal.get("attempts") or []), "created_at": journal.get("created_at"),
                         "todo": list(journal.get("todo") or [])}}
    if status and status.get("taken"):
        facts.update(snapshot=status["path"], snapshot_parts=list(status["parts"]),
                     snapshot_tree=status["moved"].get("files") or "",
                     snapshot_datadir=status["moved"].get("db") or "")
    return facts

