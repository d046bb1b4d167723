# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release ledger and the current symlink, on real files in tmp_path."""

import datetime
import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _releases as rel

T0 = datetime.datetime(2026, 11, 24, 2, 45, tzinfo=datetime.timezone.utc)
CTX = multiprocessing.get_context("fork")


def _at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def _ledger(*steps):
    """Build a ledger from (op, args...) steps: ("record", id), ("bad", id), ("rollback", from, to),
    ("switch", to, from). Each step is one minute after the previous."""
    ledger = rel.empty_ledger()
    for minute, (op, *args) in enumerate(steps):
        now = _at(minute)
        if op == "record":
            ledger, _ = rel.record(ledger, {"id": args[0], "revision": "rev-" + args[0]}, now=now)
        elif op == "bad":
            ledger, _ = rel.mark_bad(ledger, args[0], now=now)
        elif op == "rollback":
            ledger, _ = rel.rollback(ledger, args[0], args[1], now=now)
        elif op == "switch":
            ledger = rel.add_event(ledger, "switch", args[0], args[1], now=now)
    return ledger


def _app(tmp_path, *ids, current=None):
    """An app root with non-empty release dirs and, optionally, current -> releases/<current>."""
    for release_id in ids:
        (tmp_path / "releases" / release_id).mkdir(parents=True)
        (tmp_path / "releases" / release_id / "index.php").write_text(release_id)
    if current:
        os.symlink("releases/" + current, tmp_path / "current")
    return str(tmp_path)


# --- ids --------------------------------------------------------------------------------

@pytest.mark.parametrize("release_id", ["20261124T024500Z", "v1.4.2", "2026-11-24", "r1"])
def test_check_id_accepts(release_id):
    assert rel.check_id(release_id) == release_id


@pytest.mark.parametrize("release_id", ["", ".", "..", "a/b", "../etc", None, "a\0b"])
def test_check_id_refuses(release_id):
    with pytest.raises(rel.ReleaseError, match="invalid release id"):
        rel.check_id(release_id)


# --- record -----------------------------------------------------------------------------

def test_record_appends_entry_and_event():
    before = _ledger(("record", "a"))
    after, changed = rel.record(before, {"id": "b", "revision": "9b2e0d1", "migrations": ["m1"],
                                         "backup_id": "bk1", "note": "hotfix"}, now=_at(5), by="alice@ops1")
    assert changed
    assert after["releases"][-1] == {"id": "b", "revision": "9b2e0d1", "time": "2026-11-24T02:50:00Z",
                                     "migrations": ["m1"], "backup_id": "bk1", "bad": False,
                                     "deployed_by": "alice@ops1", "note": "hotfix"}
    assert after["events"][-1] == {"time": "2026-11-24T02:50:00Z", "action": "record", "release": "b",
                                   "previous": "a", "by": "alice@ops1"}
    assert [e["id"] for e in before["releases"]] == ["a"], "the input ledger must not be modified"


def test_record_omits_optional_keys_when_not_given():
    after, _ = rel.record(rel.empty_ledger(), {"id": "a", "revision": "r"}, now=T0)
    assert after["releases"][0] == {"id": "a", "revision": "r", "time": "2026-11-24T02:45:00Z",
                                    "migrations": [], "backup_id": None, "bad": False}
    assert after["events"][0] == {"time": "2026-11-24T02:45:00Z", "action": "record", "release": "a",
                                  "previous": None}


@pytest.mark.parametrize("entry, changed, error", [
    ({"id": "a", "revision": "rev-a"}, False, None),
    ({"id": "a", "revision": "rev-a", "backup_id": "other"}, False, None),
    ({"id": "a", "revision": "rev-X"}, None, "already recorded with revision 'rev-a'"),
    ({"id": "b", "revision": ""}, None, "has no revision"),
    ({"id": "b/c", "revision": "r"}, None, "invalid release id"),
])
def test_record_again(entry, changed, error):
    ledger = _ledger(("record", "a"))
    if error:
        with pytest.raises(rel.ReleaseError, match=error):
            rel.record(ledger, entry)
        return
    after, did_change = rel.record(ledger, entry)
    assert did_change is changed
    assert after == ledger


@pytest.mark.parametrize("entry, expected", [
    ({"id": "a", "revision": "rev-a"}, []),
    ({"id": "a", "revision": "rev-a", "backup_id": "bk2", "note": "n"}, ["backup_id", "note"]),
    ({"id": "a", "revision": "rev-a", "migrations": ["m9"]}, ["migrations"]),
    ({"id": "new", "revision": "r", "backup_id": "bk2"}, []),
])
def test_unrecorded_fields(entry, expected):
    assert rel.unrecorded_fields(_ledger(("record", "a")), entry) == expected


# --- mark_bad, rollback -------------------------------------------------------------------

def test_mark_bad_is_idempotent():
    ledger = _ledger(("record", "a"), ("record", "b"))
    once, changed = rel.mark_bad(ledger, "b", now=_at(9), by="bob@ops2", note="500s on checkout")
    assert changed and rel.find_release(once, "b")["bad"]
    assert not rel.find_release(ledger, "b")["bad"], "the input ledger must not be modified"
    assert once["events"][-1] == {"time": "2026-11-24T02:54:00Z", "action": "mark_bad", "release": "b",
                                  "previous": None, "by": "bob@ops2", "note": "500s on checkout"}
    twice, changed = rel.mark_bad(once, "b")
    assert not changed and twice == once


def test_mark_bad_unknown_release_lists_recorded_ones():
    with pytest.raises(rel.ReleaseError, match=r"'zz' is not in the ledger; recorded releases: a, b"):
        rel.mark_bad(_ledger(("record", "a"), ("record", "b")), "zz")


def test_rollback_flags_bad_and_is_idempotent():
    ledger = _ledger(("record", "a"), ("record", "b"))
    once, changed = rel.rollback(ledger, "b", "a", now=_at(9))
    assert changed
    assert rel.find_release(once, "b")["bad"]
    assert once["events"][-1] == {"time": "2026-11-24T02:54:00Z", "action": "rollback", "release": "a",
                                  "previous": "b"}
    twice, changed = rel.rollback(once, "b", "a")
    assert not changed and twice == once


@pytest.mark.parametrize("from_id, to_id, error", [
    ("b", "b", "to itself"),
    ("zz", "a", "'zz' is not in the ledger"),
    ("b", "../a", "invalid release id"),
])
def test_rollback_refuses(from_id, to_id, error):
    with pytest.raises(rel.ReleaseError, match=error):
        rel.rollback(_ledger(("record", "a"), ("record", "b")), from_id, to_id)


def test_rollback_to_a_release_older_than_the_ledger_is_allowed():
    after, changed = rel.rollback(_ledger(("record", "b")), "b", "pre-ledger")
    assert changed and rel.current_from_ledger(after) == "pre-ledger"


# --- reading the ledger -----------------------------------------------------------------

@pytest.mark.parametrize("steps, current", [
    ((), None),
    ((("record", "a"),), "a"),
    ((("record", "a"), ("record", "b")), "b"),
    ((("record", "a"), ("record", "b"), ("rollback", "b", "a")), "a"),
    # marking bad is not rolling back: b is still what runs
    ((("record", "a"), ("record", "b"), ("bad", "b")), "b"),
    # a rollback past a release never marked bad
    ((("record", "a"), ("record", "b"), ("record", "c"), ("rollback", "c", "a")), "a"),
    ((("record", "a"), ("record", "b"), ("rollback", "b", "a"), ("record", "c")), "c"),
    ((("record", "a"), ("record", "b"), ("switch", "a", "b")), "a"),
])
def test_current_from_ledger(steps, current):
    assert rel.current_from_ledger(_ledger(*steps)) == current


@pytest.mark.parametrize("steps, current, expected", [
    ((("record", "a"), ("record", "b")), "b", "a"),
    ((("record", "a"), ("record", "b"), ("record", "c"), ("bad", "b")), "c", "a"),
    ((("record", "a"), ("bad", "a"), ("record", "b")), "b", None),
    ((("record", "a"),), "a", None),
    ((("record", "a"), ("record", "b")), "not-recorded", None),
    ((("record", "a"), ("record", "b")), None, None),
    # "before" means recorded before, even when the current one is later in time
    ((("record", "a"), ("record", "b"), ("record", "c")), "b", "a"),
])
def test_previous_good(steps, current, expected):
    assert rel.previous_good(_ledger(*steps), current) == expected


@pytest.mark.parametrize("steps, release_id, expected", [
    ((("record", "a"),), "a", "2026-11-24T02:45:00Z"),
    ((("record", "a"), ("record", "b"), ("rollback", "b", "a")), "a", "2026-11-24T02:47:00Z"),
    ((("record", "a"), ("record", "b"), ("switch", "a", "b")), "a", "2026-11-24T02:47:00Z"),
    ((("record", "a"), ("bad", "a")), "a", "2026-11-24T02:45:00Z"),
    ((("record", "a"),), "zz", None),
])
def test_deployed_at(steps, release_id, expected):
    assert rel.deployed_at(_ledger(*steps), release_id) == expected


# --- the ledger file --------------------------------------------------------------------

def test_load_missing_ledger_is_empty(tmp_path):
    assert rel.load_ledger(str(tmp_path / "releases.json")) == rel.empty_ledger()


@pytest.mark.parametrize("content, error", [
    ("{not json", "is not valid JSON"),
    ("[]", "no rewind_ledger key"),
    ('{"rewind_ledger": 2, "releases": [], "events": []}', "format version 2; this collection reads version 1"),
    ('{"rewind_ledger": 1, "releases": {}, "events": []}', "releases is not a list"),
    ('{"rewind_ledger": 1, "releases": [{"id": "a"}], "events": []}', "an item of releases lacks"),
    ('{"rewind_ledger": 1, "releases": [], "events": [{"action": "switch"}]}', "an item of events lacks"),
])
def test_load_refuses_damaged_ledger(tmp_path, content, error):
    path = tmp_path / "releases.json"
    path.write_text(content)
    with pytest.raises(rel.ReleaseError, match=error) as exc:
        rel.load_ledger(str(path))
    assert str(path) in str(exc.value)


def test_save_is_atomic_0640_and_round_trips(tmp_path):
    path = str(tmp_path / "releases.json")
    ledger = _ledger(("record", "a"), ("record", "b"))
    with rel.ledger_lock(path):
        rel.save_ledger(path, ledger)
    assert rel.load_ledger(path) == ledger
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["releases.json", "releases.json.lock"], "no temp file left behind"


def test_ledger_lock_refuses_missing_directory(tmp_path):
    path = str(tmp_path / "missing" / "releases.json")
    for check_mode in (False, True):
        with pytest.raises(rel.ReleaseError, match="the directory .*/missing of ledger .* does not exist"):
            with rel.ledger_lock(path, check_mode=check_mode):
                pass


def test_ledger_lock_in_check_mode_creates_nothing(tmp_path):
    with rel.ledger_lock(str(tmp_path / "releases.json"), check_mode=True):
        pass
    assert os.listdir(tmp_path) == []


def _record_many(path, worker, count):
    for n in range(count):
        with rel.ledger_lock(path):
            ledger = rel.load_ledger(path)
            time.sleep(0.001)  # widen the read-modify-write window: without the lock, entries get lost
            ledger, _ = rel.record(ledger, {"id": "w%d-%d" % (worker, n), "revision": "r"})
            rel.save_ledger(path, ledger)


def test_concurrent_writers_lose_no_entry(tmp_path):
    path = str(tmp_path / "releases.json")
    workers = [CTX.Process(target=_record_many, args=(path, w, 15)) for w in range(6)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    ledger = rel.load_ledger(path)
    expected = {"w%d-%d" % (w, n) for w in range(6) for n in range(15)}
    assert set(rel.release_ids(ledger)) == expected
    assert len(ledger["releases"]) == len(ledger["events"]) == 90


# --- release directories and the current symlink -----------------------------------------------

def test_current_release_is_none_without_symlink(tmp_path):
    assert rel.current_release(_app(tmp_path, "a")) is None


@pytest.mark.parametrize("target", ["releases/b", "releases/b/", "./releases/b", "{root}/releases/b"])
def test_current_release_reads_the_symlink(tmp_path, target):
    root = _app(tmp_path, "a", "b")
    os.symlink(target.format(root=root), tmp_path / "current")
    assert rel.current_release(root) == "b"


def test_current_release_ignores_newer_release_dirs(tmp_path):
    root = _app(tmp_path, "a", "b", "c", current="a")
    later = time.time() + 3600
    for name in ("b", "c"):
        os.utime(tmp_path / "releases" / name, (later, later))
    assert rel.current_release(root) == "a"


def test_current_release_returns_a_dangling_target(tmp_path):
    root = _app(tmp_path, "a")
    os.symlink("releases/gone", tmp_path / "current")
    assert rel.current_release(root) == "gone"


@pytest.mark.parametrize("make, error", [
    (lambda p: (p / "current").mkdir(), "is a real directory, not a symlink"),
    (lambda p: (p / "current").write_text("a"), "is a real file, not a symlink"),
    (lambda p: os.symlink("/srv/other/releases/a", p / "current"), "outside"),
    (lambda p: os.symlink("shared/a", p / "current"), "outside"),
])
def test_current_release_refuses(tmp_path, make, error):
    root = _app(tmp_path, "a")
    make(tmp_path)
    with pytest.raises(rel.ReleaseError, match=error):
        rel.current_release(root)


def test_on_disk_lists_release_directories_only(tmp_path):
    root = _app(tmp_path, "b", "a")
    (tmp_path / "releases" / "notes.txt").write_text("x")
    assert rel.on_disk(root) == ["a", "b"]
    assert rel.on_disk(str(tmp_path / "nowhere")) == []


def test_switch_points_current_at_the_release(tmp_path):
    root = _app(tmp_path, "a", "b", current="a")
    assert rel.switch(root, "b") == "a"
    assert os.readlink(tmp_path / "current") == "releases/b"
    assert sorted(os.listdir(tmp_path)) == ["current", "releases"], "no temporary symlink left behind"


def test_switch_replaces_a_temp_link_left_by_a_killed_run(tmp_path):
    root = _app(tmp_path, "a", "b", current="a")
    os.symlink("releases/a", tmp_path / ("current.tmp-%d" % os.getpid()))
    assert rel.switch(root, "b") == "a"
    assert os.readlink(tmp_path / "current") == "releases/b"
    assert sorted(os.listdir(tmp_path)) == ["current", "releases"]


def test_switch_without_current_creates_it(tmp_path):
    root = _app(tmp_path, "a")
    assert rel.switch(root, "a") is None
    assert os.readlink(tmp_path / "current") == "releases/a"


def test_switch_to_current_release_changes_nothing(tmp_path):
    root = _app(tmp_path, "a", "b")
    os.symlink(root + "/releases/a", tmp_path / "current")  # absolute, as capistrano writes it
    assert rel.switch(root, "a") == "a"
    assert os.readlink(tmp_path / "current") == root + "/releases/a"


def test_switch_in_check_mode_validates_and_changes_nothing(tmp_path):
    root = _app(tmp_path, "a", "b", current="a")
    assert rel.switch(root, "b", check_mode=True) == "a"
    assert os.readlink(tmp_path / "current") == "releases/a"
    with pytest.raises(rel.ReleaseError, match="does not exist"):
        rel.switch(root, "zz", check_mode=True)


@pytest.mark.parametrize("release_id, problem", [("zz", "does not exist"), ("empty", "is empty")])
def test_switch_refuses_missing_or_empty_release(tmp_path, release_id, problem):
    root = _app(tmp_path, "a", "b", current="a")
    (tmp_path / "releases" / "empty").mkdir()
    with pytest.raises(rel.ReleaseError) as exc:
        rel.switch(root, release_id)
    message = str(exc.value)
    assert "%s/releases/%s %s" % (root, release_id, problem) in message
    assert "Releases on disk: a, b, empty" in message
    assert os.readlink(tmp_path / "current") == "releases/a"


def _watch_current(root, stop, failures):
    while not stop.is_set():
        try:
            if rel.current_release(root) not in ("a", "b"):
                failures.value += 1
        except (OSError, rel.ReleaseError):
            failures.value += 1


def test_switch_is_atomic_for_readers(tmp_path):
    root = _app(tmp_path, "a", "b", current="a")
    stop, failures = CTX.Event(), CTX.Value("i", 0)
    reader = CTX.Process(target=_watch_current, args=(root, stop, failures))
    reader.start()
    try:
        for n in range(2000):
            rel.switch(root, "b" if n % 2 == 0 else "a")
    finally:
        stop.set()
        reader.join(10)
    assert reader.exitcode == 0
    assert failures.value == 0
