# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-application rollback lock, and the file primitives the release ledger shares.

One JSON lock file per application (default ``/var/lib/rewind/<app>/lock.json``) says
who is rolling it back::

    {"app", "holder": "user@host", "pid", "time", "ttl_s", "playbook", "reason", "run_id"}

Every change to it is made under an flock on the sidecar ``<path>.flock`` and lands by
an atomic rename, so two runs can never both acquire it, a reader never sees a
half-written lock, and two runs taking over the same expired lock cannot both win.
Take-overs and forced releases are appended to ``lock-history.jsonl`` beside the lock.

No Ansible imports: these functions unit-test in milliseconds. Targets may run
Python 3.8, so nothing newer is used.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import getpass
import json
import os
import socket
import tempfile
import time

DEFAULT_DIR = "/var/lib/rewind"
DEFAULT_TTL_S = 7200  # the longest level budget (full: 120 min)
FILE_MODE = 0o640
DIR_MODE = 0o750
FORCE_HINT = "-e rewind_force_unlock=true"
HISTORY_NAME = "lock-history.jsonl"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class LockError(Exception):
    """A lock could not be taken, read or released; the message says what to do."""


class LockHeld(LockError):
    """Another run holds the lock. ``record`` is its lock record."""

    def __init__(self, message, record):
        super().__init__(message)
        self.record = record


class LockUnreadable(LockError):
    """The lock file exists but is not a lock record. ``text`` is what it holds."""

    def __init__(self, path, text, problem):
        super().__init__(
            "lock file %s is unreadable (%s). rewind writes it atomically, so it was edited by hand "
            "or the disk failed. If no rollback of this application is running, rerun with %s to "
            "replace it." % (path, problem, FORCE_HINT))
        self.text = text


# --- time and identity ----------------------------------------------------------------

def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def timestamp(moment=None):
    """ISO-8601 UTC with a Z, to the second: ``2026-11-24T02:45:00Z``."""
    return (moment or utc_now()).astimezone(datetime.timezone.utc).strftime(_TIME_FORMAT)


def parse_timestamp(text):
    """The aware datetime for an ISO-8601 time; a time without a zone is taken as UTC."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def current_actor():
    """``user@host`` of the person behind this process; SUDO_USER survives become."""
    user = os.environ.get("SUDO_USER")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # a uid without a passwd entry, e.g. in a container
            user = "uid%d" % os.geteuid()
    return "%s@%s" % (user, socket.gethostname())


# --- file primitives ------------------------------------------------------------------

@contextlib.contextmanager
def flocked(lock_path, timeout=30.0):
    """Hold an exclusive flock on lock_path (created if missing) for the with-block."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        "another process has held %s for more than %d s, which takes milliseconds "
                        "normally; find it with 'fuser -v %s' and end it if it hangs"
                        % (lock_path, timeout, lock_path))
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def fsync_dir(directory):
    """Make a rename or unlink in directory durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path, data, mode=FILE_MODE):
    """Replace path with data as JSON: temp file in the same directory, fsync, rename.

    Readers see the old content or the new, never a mix. When running as root, an
    existing file keeps its owner, so the user who owns it can still write it.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if os.geteuid() == 0 and os.path.exists(path):
                st = os.stat(path)
                os.fchown(handle.fileno(), st.st_uid, st.st_gid)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


# --- the lock record ------------------------------------------------------------------

def default_path(app):
    """``/var/lib/rewind/<app>/lock.json``; app must be usable as a directory name."""
    if not app or app in (".", "..") or "/" in app:
        raise LockError("invalid application name %r for the lock path: it names the directory "
                        "%s/<app>, so it must be non-empty and contain no '/'" % (app, DEFAULT_DIR))
    return os.path.join(DEFAULT_DIR, app, "lock.json")


def new_record(app, run_id, holder, playbook=None, reason=None, ttl_s=DEFAULT_TTL_S, now=None):
    """The lock record this process would write."""
    return {"app": app, "holder": holder, "pid": os.getpid(), "time": timestamp(now),
            "ttl_s": ttl_s, "playbook": playbook, "reason": reason, "run_id": run_id}


def expires_at(record):
    return parse_timestamp(record["time"]) + datetime.timedelta(seconds=record["ttl_s"])


def is_expired(record, now=None):
    """True once the lock is older than its TTL."""
    return (now or utc_now()) >= expires_at(record)


def describe(record, now=None):
    """One line an operator can act on: who, since when, doing what, until when."""
    expiry = expires_at(record)
    return "%s (pid %s) since %s, playbook %s, reason %s, run_id %s; %s %s" % (
        record.get("holder") or "an unknown holder", record.get("pid", "?"), record["time"],
        record.get("playbook") or "(not given)",
        repr(record["reason"]) if record.get("reason") else "(not given)", record["run_id"],
        "expired" if (now or utc_now()) >= expiry else "expires", timestamp(expiry))


def read_lock(path):
    """The lock record at path, or None when there is no lock. Raises LockUnreadable."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise LockUnreadable(path, text, "not JSON: %s" % exc)
    if not isinstance(record, dict) or not record.get("run_id"):
        raise LockUnreadable(path, text, "no run_id")
    try:
        parse_timestamp(record["time"])
        if not isinstance(record["ttl_s"], int):
            raise TypeError("ttl_s is not an integer")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LockUnreadable(path, text, "bad time or ttl_s: %s" % exc)
    return record


def _read_for(path, force):
    """read_lock, except that with force an unreadable lock counts as someone else's."""
    try:
        return read_lock(path)
    except LockUnreadable as exc:
        if not force:
            raise
        return {"unreadable": exc.text}


def _log_history(path, action, old, by, run_id, now):
    line = json.dumps({"time": timestamp(now), "action": action, "by": by, "run_id": run_id,
                       "lock": old}, sort_keys=True)
    history = os.path.join(os.path.dirname(os.path.abspath(path)), HISTORY_NAME)
    fd = os.open(history, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _result(lock, changed, acquired, previous=None, taken_over=False, forced=False):
    return {"lock": lock, "changed": changed, "acquired": acquired, "previous_lock": previous,
            "taken_over": taken_over, "forced": forced}


def acquire(path, record, force=False, check_mode=False, now=None):
    """Take the lock at path for record["run_id"] and return a result dict.

    Free → written. Held by the same run_id → unchanged. Expired → taken over. Held by
    a live run → LockHeld, unless force. Take-overs and forced acquisitions are
    appended to the history file. In check mode nothing is written, not even the
    directory, and the result says what a real run would do.
    """
    now = now or utc_now()
    if not check_mode:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=DIR_MODE, exist_ok=True)
    with contextlib.nullcontext() if check_mode else flocked(path + ".flock"):
        held = _read_for(path, force)
        if held is not None and held.get("run_id") == record["run_id"]:
            return _result(held, changed=False, acquired=True)
        taken_over = held is not None and "unreadable" not in held and is_expired(held, now)
        forced = held is not None and not taken_over
        if forced and not force:
            raise LockHeld(
                "%s is locked by %s. Another rollback may be running: wait for it. If it is dead, "
                "rerun with %s to take the lock (lock file: %s)."
                % (held.get("app") or path, describe(held, now), FORCE_HINT, path), held)
        if not check_mode:
            if held is not None:
                _log_history(path, "take_over" if taken_over else "force_acquire", held,
                             record.get("holder"), record["run_id"], now)
            write_json_atomic(path, record)
    return _result(record, changed=True, acquired=True, previous=held, taken_over=taken_over,
                   forced=forced)


def release(path, run_id, force=False, check_mode=False, by=None, now=None):
    """Release the lock at path held by run_id and return a result dict.

    No lock → unchanged. Held by another run → LockHeld, unless force, which is
    appended to the history file. In check mode nothing is removed.
    """
    now = now or utc_now()
    with contextlib.nullcontext() if check_mode else flocked(path + ".flock"):
        held = _read_for(path, force)
        if held is None:
            return _result(None, changed=False, acquired=False)
        forced = held.get("run_id") != run_id
        if forced and not force:
            raise LockHeld(
                "not releasing %s: it is held by %s, not by this run (run_id %s). If that run is "
                "dead, rerun with %s to remove it." % (path, describe(held, now), run_id, FORCE_HINT),
                held)
        if not check_mode:
            if forced:
                _log_history(path, "force_release", held, by, run_id, now)
            os.unlink(path)
            fsync_dir(os.path.dirname(os.path.abspath(path)))
    return _result(None, changed=True, acquired=False, previous=held, forced=forced)
