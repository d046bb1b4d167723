# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-application rollback lock, on real files in tmp_path."""

import datetime
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _lock as lk

T0 = datetime.datetime(2026, 11, 24, 2, 45, tzinfo=datetime.timezone.utc)
CTX = multiprocessing.get_context("fork")


def _record(run_id="run-1", holder="alice@ops1", now=T0, ttl_s=3600):
    return lk.new_record("shop", run_id, holder, playbook="rollback.yml", reason="checkout 500s",
                         ttl_s=ttl_s, now=now)


def _later(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def _history(tmp_path):
    path = tmp_path / lk.HISTORY_NAME
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def lock_path(tmp_path):
    return str(tmp_path / "lock.json")


# --- pure parts ---------------------------------------------------------------------------

def test_new_record():
    record = _record()
    assert record == {"app": "shop", "holder": "alice@ops1", "pid": os.getpid(), "time": "2026-11-24T02:45:00Z",
                      "ttl_s": 3600, "playbook": "rollback.yml", "reason": "checkout 500s", "run_id": "run-1"}


@pytest.mark.parametrize("seconds, expired", [(0, False), (3599, False), (3600, True), (86400, True)])
def test_is_expired(seconds, expired):
    assert lk.is_expired(_record(), now=_later(seconds)) is expired


@pytest.mark.parametrize("text, moment", [
    ("2026-11-24T02:45:00Z", T0),
    ("2026-11-24T02:45:00+00:00", T0),
    ("2026-11-24T03:45:00+01:00", T0),
    ("2026-11-24T02:45:00", T0),
])
def test_parse_timestamp(text, moment):
    assert lk.parse_timestamp(text) == moment


def test_describe_names_holder_time_playbook_reason_and_expiry():
    text = lk.describe(_record(), now=_later(60))
    assert text == ("alice@ops1 (pid %d) since 2026-11-24T02:45:00Z, playbook rollback.yml, reason 'checkout 500s', "
                    "run_id run-1; expires 2026-11-24T03:45:00Z" % os.getpid())
    assert "expired 2026-11-24T03:45:00Z" in lk.describe(_record(), now=_later(7200))


@pytest.mark.parametrize("app", ["", ".", "..", "a/b"])
def test_default_path_refuses_unsafe_app(app):
    with pytest.raises(lk.LockError, match="invalid application name"):
        lk.default_path(app)


def test_default_path():
    assert lk.default_path("shop") == "/var/lib/rewind/shop/lock.json"


def test_current_actor_prefers_sudo_user(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    assert lk.current_actor().startswith("alice@")


# --- file primitives ----------------------------------------------------------------------

def test_flocked_gives_up_with_a_hint(tmp_path):
    guard = str(tmp_path / "x.flock")
    with lk.flocked(guard):
        with pytest.raises(lk.LockError, match="another process has held .*x.flock.*fuser -v"):
            with lk.flocked(guard, timeout=0.1):
                pass


def test_write_json_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    path = str(tmp_path / "data.json")
    lk.write_json_atomic(path, {"v": 1})
    with pytest.raises(TypeError):
        lk.write_json_atomic(path, {"v": object()})
    with open(path) as handle:
        assert json.load(handle) == {"v": 1}
    assert os.listdir(tmp_path) == ["data.json"], "the temp file is removed"


# --- acquire ------------------------------------------------------------------------------

def test_acquire_free_lock_writes_it(tmp_path):
    path = str(tmp_path / "app" / "lock.json")  # the directory is created
    result = lk.acquire(path, _record(), now=T0)
    assert result == {"lock": _record(), "changed": True, "acquired": True, "previous_lock": None,
                      "taken_over": False, "forced": False}
    assert lk.read_lock(path) == _record()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "app").st_mode) == 0o750
    assert sorted(os.listdir(tmp_path / "app")) == ["lock.json", "lock.json.flock"]


def test_acquire_again_with_same_run_id_changes_nothing(lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    result = lk.acquire(lock_path, _record(now=_later(30)), now=_later(30))
    assert (result["changed"], result["acquired"], result["lock"]) == (False, True, _record())
    assert lk.read_lock(lock_path) == _record(), "the original record is kept"


def test_acquire_held_lock_is_refused_with_an_actionable_message(lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    with pytest.raises(lk.LockHeld) as exc:
        lk.acquire(lock_path, _record("run-2", "bob@ops2", now=_later(60)), now=_later(60))
    message = str(exc.value)
    for part in ("shop is locked by alice@ops1", "since 2026-11-24T02:45:00Z", "playbook rollback.yml",
                 "reason 'checkout 500s'", "run_id run-1", "-e rewind_force_unlock=true", lock_path):
        assert part in message
    assert exc.value.record == _record()
    assert lk.read_lock(lock_path) == _record()


@pytest.mark.parametrize("check_mode", [False, True])
def test_expired_lock_is_taken_over(tmp_path, lock_path, check_mode):
    lk.acquire(lock_path, _record(), now=T0)
    mine = _record("run-2", "bob@ops2", now=_later(3600))
    result = lk.acquire(lock_path, mine, check_mode=check_mode, now=_later(3600))
    assert (result["changed"], result["taken_over"], result["forced"]) == (True, True, False)
    assert result["previous_lock"] == _record()
    assert lk.read_lock(lock_path) == (_record() if check_mode else mine)
    history = _history(tmp_path)
    if check_mode:
        assert history == []
    else:
        assert history == [{"time": "2026-11-24T03:45:00Z", "action": "take_over", "by": "bob@ops2",
                            "run_id": "run-2", "lock": _record()}]


def test_force_takes_a_live_lock_and_logs_it(tmp_path, lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    mine = _record("run-2", "bob@ops2", now=_later(60))
    result = lk.acquire(lock_path, mine, force=True, now=_later(60))
    assert (result["changed"], result["taken_over"], result["forced"]) == (True, False, True)
    assert lk.read_lock(lock_path) == mine
    assert [(h["action"], h["by"], h["lock"]["run_id"]) for h in _history(tmp_path)] == [
        ("force_acquire", "bob@ops2", "run-1")]


def test_acquire_in_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "app" / "lock.json")
    result = lk.acquire(path, _record(), check_mode=True, now=T0)
    assert (result["changed"], result["acquired"]) == (True, True)
    assert os.listdir(tmp_path) == []


def test_check_mode_still_refuses_a_held_lock(lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    with pytest.raises(lk.LockHeld):
        lk.acquire(lock_path, _record("run-2"), check_mode=True, now=_later(60))


@pytest.mark.parametrize("content", [
    "", "{broken", "[]", '{"run_id": "x"}', '{"run_id": "x", "time": "soon", "ttl_s": 1}',
    '{"run_id": "x", "time": "2026-11-24T02:45:00Z", "ttl_s": "1h"}',
])
def test_unreadable_lock_is_refused_unless_forced(tmp_path, lock_path, content):
    with open(lock_path, "w") as handle:
        handle.write(content)
    with pytest.raises(lk.LockUnreadable, match="lock file .* is unreadable .* rewind_force_unlock"):
        lk.acquire(lock_path, _record(), now=T0)
    result = lk.acquire(lock_path, _record(), force=True, now=T0)
    assert result["forced"] and result["previous_lock"] == {"unreadable": content}
    assert lk.read_lock(lock_path) == _record()
    assert _history(tmp_path)[0]["lock"] == {"unreadable": content}


# --- release ------------------------------------------------------------------------------

def test_release_by_holder_removes_the_lock(tmp_path, lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    result = lk.release(lock_path, "run-1", now=_later(60))
    assert result == {"lock": None, "changed": True, "acquired": False, "previous_lock": _record(),
                      "taken_over": False, "forced": False}
    assert not os.path.exists(lock_path)
    assert _history(tmp_path) == [], "a normal release is not an override"


def test_release_without_lock_changes_nothing(lock_path):
    assert lk.release(lock_path, "run-1")["changed"] is False


def test_release_of_another_runs_lock_is_refused(lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    with pytest.raises(lk.LockHeld, match="not releasing .*held by alice@ops1.*not by this run \\(run_id run-2\\)"
                                          ".*rewind_force_unlock=true"):
        lk.release(lock_path, "run-2", now=_later(60))
    assert lk.read_lock(lock_path) == _record()


def test_forced_release_is_logged(tmp_path, lock_path):
    lk.acquire(lock_path, _record(), now=T0)
    result = lk.release(lock_path, "run-2", force=True, by="bob@ops2", now=_later(60))
    assert (result["changed"], result["forced"], result["previous_lock"]) == (True, True, _record())
    assert not os.path.exists(lock_path)
    assert _history(tmp_path) == [{"time": "2026-11-24T02:46:00Z", "action": "force_release", "by": "bob@ops2",
                                   "run_id": "run-2", "lock": _record()}]


@pytest.mark.parametrize("run_id, force", [("run-1", False), ("run-2", True)])
def test_release_in_check_mode_removes_nothing(tmp_path, lock_path, run_id, force):
    lk.acquire(lock_path, _record(), now=T0)
    result = lk.release(lock_path, run_id, force=force, check_mode=True)
    assert (result["changed"], result["forced"]) == (True, force)
    assert lk.read_lock(lock_path) == _record()
    assert _history(tmp_path) == []


# --- two processes ----------------------------------------------------------------------

def _contend(path, run_id, barrier, outcomes):
    barrier.wait()
    try:
        lk.acquire(path, lk.new_record("shop", run_id, "w@h"))
        outcomes.put((run_id, "won"))
    except lk.LockHeld:
        outcomes.put((run_id, "refused"))


@pytest.mark.parametrize("round_", range(5))
def test_exactly_one_of_concurrent_acquirers_wins(lock_path, round_):
    contenders = 4
    barrier, outcomes = CTX.Barrier(contenders), CTX.Queue()
    procs = [CTX.Process(target=_contend, args=(lock_path, "run-%d" % n, barrier, outcomes))
             for n in range(contenders)]
    for proc in procs:
        proc.start()
    results = dict(outcomes.get(timeout=30) for _ in procs)
    for proc in procs:
        proc.join(10)
    winners = [run_id for run_id, outcome in results.items() if outcome == "won"]
    assert len(winners) == 1
    assert lk.read_lock(lock_path)["run_id"] == winners[0]


def _take_over(path, run_id, barrier, outcomes):
    barrier.wait()
    try:
        result = lk.acquire(path, lk.new_record("shop", run_id, "w@h"))
        outcomes.put((run_id, "won" if result["taken_over"] else "acquired"))
    except lk.LockHeld:
        outcomes.put((run_id, "refused"))


def test_exactly_one_run_takes_over_an_expired_lock(lock_path):
    lk.acquire(lock_path, _record("stale", ttl_s=1, now=T0), now=T0)
    contenders = 4
    barrier, outcomes = CTX.Barrier(contenders), CTX.Queue()
    procs = [CTX.Process(target=_take_over, args=(lock_path, "run-%d" % n, barrier, outcomes))
             for n in range(contenders)]
    for proc in procs:
        proc.start()
    results = sorted(outcome for _, outcome in (outcomes.get(timeout=30) for _ in procs))
    for proc in procs:
        proc.join(10)
    assert results == ["refused", "refused", "refused", "won"]
