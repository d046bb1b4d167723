"""The run journal (module_utils/_journal.py) and its two modules, phase_record and phase_record_info,
on real files in tmp_path: a crashed run is continued with its own snapshot, never a second one."""

import datetime
import hashlib
import json
import os

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _journal as jr
from ansible_collections.rewind.rollback.plugins.modules import phase_record, phase_record_info

T0 = datetime.datetime(2026, 11, 24, 3, 15, tzinfo=datetime.timezone.utc)
REQUEST = {"tier": "wordpress", "level": "full", "undo": False, "scope": {"need": ["db", "files", "config"]}}
BACKUPS = {"db": "/b/r1/db.sql.zst", "files": "/b/r1/files.tar.zst", "config": "/b/r1/config.tar.zst"}
APPLY = ["maintenance_on", "snapshot", "stop", "restore", "permissions", "restart", "maintenance_off", "verify"]


def _at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def _snapshot(root, run_id, parts=("db", "files", "config"), tree=True):
    """A snapshot set as rewind.rollback.snapshot writes it: files, then manifest.json last."""
    set_dir = os.path.join(str(root), jr.snapshot_id(run_id))
    os.makedirs(set_dir)
    files = []
    for part in parts:
        if part == "files" and tree:
            files.append({"kind": "files", "format": "dir", "path": "/var/www/demo.rewind-" + jr.snapshot_id(run_id),
                          "moved_by": "tree_restore"})
            continue
        name = "%s.bin" % part
        data = ("%s of %s" % (part, run_id)).encode()
        with open(os.path.join(set_dir, name), "wb") as handle:
            handle.write(data)
        files.append({"kind": part, "path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    with open(os.path.join(set_dir, "manifest.json"), "w") as handle:
        json.dump({"rewind_manifest": 1, "id": jr.snapshot_id(run_id), "label": "pre-rollback", "files": files}, handle)
    return set_dir


def _crashed_at(runs_dir, run_id, phase, now=T0):
    """The journal a run leaves when it is killed as ``phase`` starts."""
    journal = jr.new(run_id, REQUEST, ["db", "files", "config"], BACKUPS, now=now)
    for name in APPLY[:APPLY.index(phase) + 1]:
        jr.start_phase(journal, name, run_id, now=now)
    return jr.save(str(runs_dir), journal, now=now)


# --- the journal -------------------------------------------------------------------------------

def test_phases_complete_in_order_and_the_run_finishes():
    journal = jr.new("r1", REQUEST, ["db"], BACKUPS, now=T0)
    for minute, phase in enumerate(APPLY):
        assert jr.start_phase(journal, phase, "r1", now=_at(minute))
    assert journal["completed"] == APPLY[:-1] and journal["current"] == "verify"
    assert jr.finish(journal, "r1", now=_at(9))
    assert journal["completed"] == APPLY and journal["current"] is None and journal["status"] == "finished"
    assert not jr.finish(journal, "r1"), "finishing twice changes nothing"
    assert [p["name"] for p in journal["attempts"][0]["phases"]] == APPLY
    assert journal["attempts"][0]["ended"] == "finished"


def test_recording_the_open_phase_again_changes_nothing():
    journal = jr.new("r1", now=T0)
    assert jr.start_phase(journal, "restore", "r1", now=T0)
    assert not jr.start_phase(journal, "restore", "r1", now=_at(1))
    assert len(journal["attempts"][0]["phases"]) == 1


def test_a_second_attempt_is_recorded_apart_and_the_failure_is_cleared():
    journal = jr.new("r1", now=T0)
    jr.start_phase(journal, "maintenance_on", "r1", now=T0)
    jr.start_phase(journal, "snapshot", "r1", now=T0)
    assert jr.fail(journal, "r1", "No space left on device", now=_at(1))
    assert journal["status"] == "failed" and journal["failure"]["phase"] == "snapshot"
    assert jr.is_unfinished(journal)
    jr.start_phase(journal, "maintenance_on", "r2", now=_at(5))
    assert [a["id"] for a in journal["attempts"]] == ["r1", "r2"]
    assert journal["attempts"][0]["ended"] == "failed" and journal["attempts"][1]["ended"] is None
    assert journal["status"] == "running" and journal["failure"] is None
    assert journal["completed"] == ["maintenance_on", "snapshot"], "what any attempt completed stays completed"


def test_an_abandoned_or_finished_run_is_not_continued():
    old, new = jr.new("a", now=T0), jr.new("b", now=_at(1))
    assert jr.abandon(old, "b", now=_at(2)) and not jr.is_unfinished(old)
    assert not jr.fail(old, "x", "late failure"), "an abandoned run stays abandoned"
    jr.finish(new, "b")
    assert jr.run_to_continue([old, new], "c") is None


@pytest.mark.parametrize("run_id, expected", [
    ("new-run", "b"),        # a plain re-run continues the newest unfinished run
    ("a", "a"),              # -e rewind_run_id=a continues that one
    ("c", "b"),              # c is finished: the newest unfinished run
])
def test_run_to_continue(run_id, expected):
    a, b, c = jr.new("a", now=T0), jr.new("b", now=_at(1)), jr.new("c", now=_at(2))
    jr.finish(c, "c")
    assert jr.run_to_continue([a, b, c], run_id)["run_id"] == expected


@pytest.mark.parametrize("change, words", [
    ({"level": "code"}, 'level "code", not "full"'),
    ({"undo": True}, "undo true, not false"),
    ({"tier": "laravel"}, 'tier "laravel", not "wordpress"'),
    ({"scope": {"need": ["files"]}}, "scope"),
])
def test_a_different_request_cannot_continue_the_run(change, words):
    journal = jr.new("r1", REQUEST, now=T0)
    jr.start_phase(journal, "restore", "r1", now=T0)
    message = jr.request_conflict(journal, dict(REQUEST, **change), "r2")
    assert words in message
    assert "-e rewind_abandon_run=r1" in message and "restore was under way" in message and "run r2" in message


@pytest.mark.parametrize("request_", [REQUEST, dict(REQUEST, tier=""), dict(REQUEST, scope={})])
def test_the_same_request_or_an_unknown_value_continues_the_run(request_):
    assert jr.request_conflict(jr.new("r1", REQUEST, now=T0), request_, "r2") is None


def test_other_backups_cannot_continue_the_run():
    journal = jr.new("r1", REQUEST, backups=BACKUPS, now=T0)
    assert jr.backups_conflict(journal, dict(BACKUPS)) is None
    message = jr.backups_conflict(journal, dict(BACKUPS, db="/b/r0/db.sql.zst"))
    assert "/b/r1/db.sql.zst" in message and "/b/r0/db.sql.zst" in message


@pytest.mark.parametrize("run_id", ["", "../etc/passwd", "a/b", ".hidden", "x" * 129, None])
def test_a_run_id_must_be_a_plain_file_name(run_id):
    with pytest.raises(jr.JournalError, match="invalid run id"):
        jr.journal_path("/var/lib/rewind/demo/runs", run_id)


def test_save_and_load_round_trip_with_private_modes(tmp_path):
    runs = tmp_path / "runs"
    journal = jr.save(str(runs), jr.new("r1", REQUEST, now=T0), now=_at(1))
    path = runs / "r1.json"
    assert jr.load(str(path)) == journal
    assert oct(path.stat().st_mode & 0o777) == "0o640" and oct(runs.stat().st_mode & 0o777) == "0o750"
    assert jr.load(str(runs / "none.json")) is None


def test_unreadable_journals_are_skipped_and_named(tmp_path):
    _crashed_at(tmp_path, "good", "stop")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps({"some": "thing"}))
    journals, unreadable = jr.load_all(str(tmp_path))
    assert [j["run_id"] for j in journals] == ["good"]
    assert sorted(os.path.basename(p) for p, _ in unreadable) == ["broken.json", "other.json"]


# --- the snapshot on disk ----------------------------------------------------------------------

def test_a_set_without_manifest_is_not_taken(tmp_path):
    os.makedirs(tmp_path / jr.snapshot_id("r1"))
    (tmp_path / jr.snapshot_id("r1") / "db.sql.zst").write_bytes(b"half a dump")
    status = jr.snapshot_status(str(tmp_path / jr.snapshot_id("r1")))
    assert not status["taken"] and status["parts"] == []
    assert jr.uncovered(["db", "files"], status) == ["db", "files"]


def test_a_complete_set_holds_its_parts_and_the_moved_tree(tmp_path):
    status = jr.snapshot_status(_snapshot(tmp_path, "r1"))
    assert status["taken"] and status["parts"] == ["db", "files", "config"] and status["problems"] == []
    assert status["moved"] == {"files": "/var/www/demo.rewind-r1-pre-rollback"}
    assert jr.uncovered(["db", "files", "config", "migrate"], status) == []
    assert jr.uncovered(["db"], jr.snapshot_status(_snapshot(tmp_path, "r2", parts=("files",)))) == ["db"]


@pytest.mark.parametrize("damage, problem", [
    (lambda d: os.unlink(os.path.join(d, "db.bin")), "missing"),
    (lambda d: open(os.path.join(d, "db.bin"), "ab").write(b"x"), "bytes"),
    (lambda d: open(os.path.join(d, "db.bin"), "r+b").write(b"X"), "sha256"),
])
def test_a_damaged_set_is_reported(tmp_path, damage, problem):
    set_dir = _snapshot(tmp_path, "r1")
    damage(set_dir)
    assert problem in " ".join(jr.snapshot_status(set_dir)["problems"])


def test_resume_facts_bring_the_run_id_and_the_snapshot(tmp_path):
    journal = _crashed_at(tmp_path / "runs", "r1", "restore")
    facts = jr.resume_facts(journal, jr.snapshot_status(_snapshot(tmp_path, "r1")))
    assert facts["run_id"] == "r1" and facts["resumed"]["completed"] == ["maintenance_on", "snapshot", "stop"]
    assert facts["snapshot"].endswith("/r1-pre-rollback") and facts["snapshot_parts"] == ["db", "files", "config"]
    assert facts["snapshot_tree"] == "/var/www/demo.rewind-r1-pre-rollback" and facts["snapshot_datadir"] == ""
    assert "snapshot" not in jr.resume_facts(journal, jr.snapshot_status(str(tmp_path / "absent")))


# --- the modules -------------------------------------------------------------------------------

def _record(run, tmp_path, **args):
    args.setdefault("runs_dir", str(tmp_path / "runs"))
    args.setdefault("run_id", "r1")
    return run(phase_record, **args)


def test_the_first_boundary_creates_the_journal_and_check_mode_writes_nothing(run, tmp_path):
    result, _ = _record(run, tmp_path, phase="maintenance_on", request=REQUEST, todo=["db"], backups=BACKUPS,
                        check_mode=True)
    assert result["changed"] and result["journal"]["current"] == "maintenance_on"
    assert not (tmp_path / "runs").exists()
    result, _ = _record(run, tmp_path, phase="maintenance_on", request=REQUEST, todo=["db"], backups=BACKUPS)
    on_disk = json.loads((tmp_path / "runs" / "r1.json").read_text())
    assert result["changed"] and on_disk["request"] == REQUEST and on_disk["backups"] == BACKUPS
    assert _record(run, tmp_path, phase="maintenance_on")[0]["changed"] is False


def test_a_run_with_nothing_to_restore_writes_no_journal(run, tmp_path):
    result, _ = _record(run, tmp_path, phase="permissions", create=False)
    assert not result["changed"] and result["journal"] is None and not (tmp_path / "runs").exists()


def test_the_restore_is_refused_without_a_snapshot_that_holds_its_parts(run, tmp_path):
    _record(run, tmp_path, phase="stop")
    result, _ = _record(run, tmp_path, phase="restore", require_snapshot=True, parts=["db", "files"])
    assert result["failed"] and result["msg"].startswith("REWIND-E-BACKUP: refusing to start restore")
    assert "not there" in result["msg"]
    set_dir = _snapshot(tmp_path / "snapshots", "r1", parts=("files",))
    result, _ = _record(run, tmp_path, phase="restore", require_snapshot=True, parts=["db", "files"], snapshot=set_dir)
    assert result["failed"] and "does not hold db" in result["msg"]
    assert json.loads((tmp_path / "runs" / "r1.json").read_text())["current"] == "stop", "the restore never started"


def test_the_restore_starts_with_the_snapshot_recorded(run, tmp_path):
    set_dir = _snapshot(tmp_path / "snapshots", "r1")
    _record(run, tmp_path, phase="stop", snapshot=set_dir)
    result, _ = _record(run, tmp_path, phase="restore", require_snapshot=True, parts=["db", "files", "config"])
    assert not result.get("failed") and result["journal"]["current"] == "restore"
    assert result["journal"]["snapshot"] == {"id": "r1-pre-rollback", "path": set_dir, "parts": ["db", "files", "config"]}


def test_a_failed_host_stops_the_others_and_their_journal_says_so(run, tmp_path):
    result, _ = _record(run, tmp_path, phase="maintenance_on", create=True, fleet_failed=["wp1"])
    assert result["failed"] and result["stopped"] and result["journal"] is None
    assert result["msg"] == ("stopped by the fleet before maintenance_on: wp1 failed, so this host goes no further. "
                             "Nothing was changed on it.")
    assert not (tmp_path / "runs").exists(), "a host stopped before its first change keeps no journal"
    _record(run, tmp_path, phase="maintenance_on")
    result, _ = _record(run, tmp_path, phase="snapshot", fleet_failed=["wp3", "wp2"])
    assert "wp2, wp3 failed" in result["msg"] and "re-run the same rollback" in result["msg"]
    journal = json.loads((tmp_path / "runs" / "r1.json").read_text())
    assert journal["status"] == "failed" and journal["failure"]["stopped"] and journal["current"] == "maintenance_on"


def test_failed_finished_and_abandoned(run, tmp_path):
    assert _record(run, tmp_path, state="failed", msg="x")[0]["changed"] is False, "no journal, nothing to record"
    _record(run, tmp_path, phase="restart")
    result, _ = _record(run, tmp_path, state="failed", msg="apache2 did not start", attempt="r1")
    assert result["journal"]["failure"]["msg"] == "apache2 did not start" and result["phase"] == "restart"
    result, _ = _record(run, tmp_path, state="finished", attempt="r2")
    assert result["journal"]["status"] == "finished" and result["journal"]["attempts"][-1]["id"] == "r2"
    assert _record(run, tmp_path, state="abandoned")[0]["changed"] is False
    result, _ = _record(run, tmp_path, run_id="nope", state="abandoned")
    assert result["failed"] and result["msg"].startswith("REWIND-E-INPUT: there is no run nope")


def _info(run, tmp_path, **args):
    args.setdefault("runs_dir", str(tmp_path / "runs"))
    args.setdefault("snapshot_root", str(tmp_path / "snapshots"))
    args.setdefault("request", REQUEST)
    args.setdefault("backups", BACKUPS)
    return run(phase_record_info, **args)[0]


def test_info_without_journals_starts_a_new_run(run, tmp_path):
    result = _info(run, tmp_path, run_id="r9")
    assert result["run_id"] == "r9" and not result["resumed"] and result["facts"] == {"run_id": "r9", "resumed": None}


@pytest.mark.parametrize("phase, snapshot_taken", [("snapshot", False), ("stop", True), ("restore", True)])
def test_info_continues_the_crashed_run_with_its_own_snapshot(run, tmp_path, phase, snapshot_taken):
    _crashed_at(tmp_path / "runs", "r1", phase)
    if snapshot_taken:
        _snapshot(tmp_path / "snapshots", "r1")
    result = _info(run, tmp_path, run_id="r2")
    assert result["resumed"] and result["run_id"] == "r1" and result["conflict"] is None
    assert result["facts"]["run_id"] == "r1"
    assert ("snapshot" in result["facts"]) is snapshot_taken
    if snapshot_taken:
        assert result["facts"]["snapshot"] == str(tmp_path / "snapshots" / "r1-pre-rollback")


def test_info_finds_a_snapshot_the_journal_did_not_record(run, tmp_path):
    """Killed between the snapshot module and the next boundary: the manifest on disk is the truth."""
    _crashed_at(tmp_path / "runs", "r1", "snapshot")
    _snapshot(tmp_path / "snapshots", "r1")
    assert _info(run, tmp_path, run_id="r2")["facts"]["snapshot_parts"] == ["db", "files", "config"]


def test_info_reports_a_damaged_snapshot_and_a_conflicting_request(run, tmp_path):
    _crashed_at(tmp_path / "runs", "r1", "restore")
    set_dir = _snapshot(tmp_path / "snapshots", "r1")
    os.unlink(os.path.join(set_dir, "db.bin"))
    assert "missing" in _info(run, tmp_path, run_id="r2")["snapshot"]["problems"][0]
    result = _info(run, tmp_path, run_id="r2", request=dict(REQUEST, level="code"))
    assert not result["resumed"] and result["run_id"] == "r2" and "level" in result["conflict"]
    result = _info(run, tmp_path, run_id="r2", backups=dict(BACKUPS, files="/b/r0/files.tar.zst"))
    assert "/b/r0/files.tar.zst" in result["conflict"]


def test_info_lists_runs_newest_first(run, tmp_path):
    _crashed_at(tmp_path / "runs", "old", "stop", now=T0)
    journal = jr.new("new", now=_at(10))
    jr.finish(journal, "new")
    jr.save(str(tmp_path / "runs"), journal)
    result = _info(run, tmp_path, run_id="x")
    assert [r["run_id"] for r in result["runs"]] == ["new", "old"] and result["resume"]["run_id"] == "old"
