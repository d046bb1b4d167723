# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_info, backup_verify and backup_select: main() run in-process (conftest's ``run``) on real backup folders."""

from __future__ import annotations

import gzip

import pytest

from ansible_collections.rewind.rollback.plugins.modules import backup_info, backup_select, backup_verify

from test_backups import CUTOFF, DUMP, make_set, put


@pytest.fixture
def root(tmp_path):
    """A backup root as found on a WordPress host: two rewind sets, a snapshot and a script's backups."""
    make_set(tmp_path, "20261123T024500Z-pre-deploy", "2026-11-23T02:45:00Z")
    make_set(tmp_path, "20261124T024500Z-pre-deploy", "2026-11-24T02:45:00Z")
    make_set(tmp_path, "20261124T031000Z-pre-rollback", "2026-11-24T03:10:00Z", label="pre-rollback")
    put(tmp_path, "db_backup_20261122.sql.gz")
    put(tmp_path, "backup_20261124_025100.sql")  # one minute after the deployment at 02:50
    return tmp_path


def test_backup_info_lists_newest_first_and_filters(run, root):
    result, _ = run(backup_info, root=str(root), kinds=["db"])
    assert result["changed"] is False
    assert [b["id"] for b in result["backups"]] == [
        "20261124T031000Z-pre-rollback/db.sql.gz", "backup_20261124_025100.sql",
        "20261124T024500Z-pre-deploy/db.sql.gz", "20261123T024500Z-pre-deploy/db.sql.gz", "db_backup_20261122.sql.gz"]
    assert all("verified" not in b for b in result["backups"])
    assert len(run(backup_info, root=str(root))[0]["backups"]) == 11
    assert len(run(backup_info, root=str(root), tier="laravel")[0]["backups"]) == 2  # only the foreign ones


def test_backup_info_verifies_in_check_mode(run, root):
    put(root, "db_backup_20261121.sql.gz", DUMP[:30])
    result, _ = run(backup_info, root=str(root), kinds=["db"], verify=True, check_mode=True)
    verdicts = {b["id"]: b["verified"] for b in result["backups"]}
    assert verdicts["db_backup_20261121.sql.gz"]["reason"] == (
        "dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump)")
    assert sum(v["ok"] for v in verdicts.values()) == 5


def test_backup_info_missing_root(run, tmp_path):
    result, _ = run(backup_info, root=str(tmp_path / "nope"))
    assert result["failed"] is True
    assert result["msg"].startswith("backup root %s is not a folder" % (tmp_path / "nope"))


def test_backup_verify_fails_with_every_bad_file_and_its_reason(run, root):
    good = str(root / "db_backup_20261122.sql.gz")
    cut = str(put(root, "db_backup_20261121.sql.gz", DUMP[:30]))
    truncated = root / "db_backup_20261120.sql.gz"
    truncated.write_bytes(gzip.compress(DUMP)[:20])
    result, _ = run(backup_verify, paths=[good, cut, str(truncated)])
    assert result["failed"] is True and result["ok"] is False
    assert result["msg"] == (
        "REWIND-E-BACKUP: 2 of 3 backups failed verification; do not restore from them: "
        "%s: dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump); "
        "%s: gzip stream is truncated: it ends before its CRC and length trailer (copy cut off, or the disk "
        "filled up while writing)" % (cut, truncated))
    assert [r["ok"] for r in result["results"]] == [True, False, False]


def test_backup_verify_reports_without_failing(run, root):
    result, _ = run(backup_verify, path=str(root / "missing.sql"), fail_on_error=False)
    assert "failed" not in result
    assert (result["ok"], result["results"][0]["reason"]) == (False, "does not exist")


def test_backup_verify_checks_entries_against_their_manifest(run, tmp_path):
    make_set(tmp_path, "20261124T024500Z-pre-deploy", "2026-11-24T02:45:00Z", corrupt=("files.tar.gz",))
    entries = run(backup_info, root=str(tmp_path))[0]["backups"]
    result, _ = run(backup_verify, entries=entries)
    assert result["failed"] is True
    assert "20261124T024500Z-pre-deploy/files.tar.gz: sha256 is " in result["msg"]
    assert [r["ok"] for r in result["results"]] == [False, True, True]


def test_backup_verify_needs_one_source(run):
    result, _ = run(backup_verify)
    assert result["failed"] is True and "one of the following is required: path, paths, entries" in result["msg"]


def test_backup_select_picks_the_pre_deploy_set_before_the_cutoff(run, root):
    result, warnings = run(backup_select, root=str(root), kinds=["db", "files", "config"], before=CUTOFF,
                           rpo_min=60, check_mode=True)
    assert result["changed"] is False and result["cutoff"] == CUTOFF
    assert {k: b["id"] for k, b in result["backups"].items()} == {
        "db": "20261124T024500Z-pre-deploy/db.sql.gz", "files": "20261124T024500Z-pre-deploy/files.tar.gz",
        "config": "20261124T024500Z-pre-deploy/config.tar.gz"}
    assert all(b["verified"]["ok"] and b["age_min"] > 0 for b in result["backups"].values())
    assert result["skipped"] == [] and warnings == []


def test_backup_select_fails_on_a_bad_newest_backup_and_falls_back_when_allowed(run, root):
    db = root / "20261124T024500Z-pre-deploy" / "db.sql.gz"
    db.write_bytes(db.read_bytes()[:-3])
    result, _ = run(backup_select, root=str(root), kinds=["db"], before=CUTOFF)
    assert result["failed"] is True
    assert result["msg"].startswith("REWIND-E-BACKUP: the newest db backup before the cut-off %s, %s (created "
                                    "2026-11-24T02:45:00Z), failed verification: size is " % (CUTOFF, db))
    assert "gzip stream is truncated" in result["msg"]

    result, warnings = run(backup_select, root=str(root), kinds=["db"], before=CUTOFF, allow_fallback=True)
    assert result["backups"]["db"]["id"] == "20261123T024500Z-pre-deploy/db.sql.gz"
    assert result["skipped"][0]["path"] == str(db)
    assert "using the next older valid one instead" in warnings[0]


@pytest.mark.parametrize("args, message", [
    (dict(before="yesterday"), "REWIND-E-INPUT: before: 'yesterday' is not an ISO 8601 time"),
    (dict(date="2026-13-01"), "REWIND-E-INPUT: date: '2026-13-01' is not YYYYMMDD or YYYY-MM-DD"),
    (dict(before="2026-11-20T00:00:00Z"), "REWIND-E-BACKUP: no db backup labelled pre-deploy created before "
                                          "2026-11-20T00:00:00Z in "),
    (dict(backup_id="nope"), "REWIND-E-BACKUP: backup_id 'nope' matches no backup"),
])
def test_backup_select_input_and_selection_errors(run, root, args, message):
    result, _ = run(backup_select, root=str(root), kinds=["db"], **args)
    assert result["failed"] is True and result["msg"].startswith(message)


def test_backup_select_on_an_empty_root(run, tmp_path):
    result, _ = run(backup_select, root=str(tmp_path), kinds=["db"], before=CUTOFF)
    assert result["msg"].startswith("REWIND-E-BACKUP: no backups at all in %s" % tmp_path)
