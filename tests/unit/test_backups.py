# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_backups.py: the catalog over real folders, and selection."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.rewind.rollback.plugins.module_utils._backups import (
    SelectionError, catalog, parse_time, select, verify_entry)

DUMP = b"-- MySQL dump\nINSERT INTO `wp_posts` VALUES (1);\n-- Dump completed on 2026-11-23 23:50:00\n"
CUTOFF = "2026-11-24T02:50:00Z"
MTIME = datetime.datetime(2026, 11, 20, 8, 30, tzinfo=datetime.timezone.utc)


def compressed(name, data):
    if name.endswith((".gz", ".tgz")):
        return gzip.compress(data, mtime=0)
    if name.endswith(".zst"):
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


def tar_bytes():
    return subprocess.run(["tar", "-cf", "-", "--files-from", "/dev/null"], capture_output=True, check=True).stdout


def put(root, name, data=DUMP):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compressed(name, data))
    ts = MTIME.timestamp()
    os.utime(path, (ts, ts))
    return path


def make_set(root, set_id, created_at, label="pre-deploy", tier="wordpress", files=None, corrupt=()):
    """A rewind backup set with real files; names in ``corrupt`` get a wrong sha256 in the manifest."""
    set_dir = root / set_id
    items = []
    for name, kind, fmt in files or [("db.sql.gz", "db", "mysql-logical"), ("files.tar.gz", "files", "tar"),
                                     ("config.tar.gz", "config", "tar")]:
        data = compressed(name, DUMP if kind == "db" else tar_bytes())
        put(set_dir, name, DUMP if kind == "db" else tar_bytes())
        items.append({"path": name, "kind": kind, "format": fmt, "compression": "gzip",
                      "sha256": "0" * 64 if name in corrupt else hashlib.sha256(data).hexdigest(),
                      "size": len(data), "database": "wordpress"})
    manifest = {"rewind_manifest": 1, "id": set_id, "label": label, "tier": tier, "app": "demo", "host": "wp1",
                "created_at": created_at, "release": "r-" + set_id[:15], "files": items}
    (set_dir / "manifest.json").write_text(json.dumps(manifest))
    return set_dir


# --- catalog: every naming pattern ----------------------------------------------------------------

def _mydumper(path):
    path.mkdir()
    (path / "metadata").write_text("Started dump at: x\nFinished dump at: y\n")


def _mongodump(path):
    (path / "shop").mkdir(parents=True)
    (path / "shop" / "orders.bson").write_bytes(b"\x05\0\0\0\0")
    (path / "shop" / "orders.metadata.json").write_text("{}")


def _physical(path):
    path.mkdir()
    (path / "xtrabackup_checkpoints").write_text("backup_type = full-backuped\n")


def _config_dir(path):
    (path / "nginx").mkdir(parents=True)
    (path / "nginx" / "site.conf").write_text("server {}")


DAY = "2026-11-23T00:00:00Z"
AT = "2026-11-23T23:50:00Z"
MT = "2026-11-20T08:30:00Z"

# name, how to make it (None: a file), kind, format, compression, created_at, source, weak, label
PATTERNS = [
    ("db_backup_20261123.sql", None, "db", "mysql-logical", "none", DAY, "name", True, "pre-deploy"),
    ("db_backup_20261123.sql.gz", None, "db", "mysql-logical", "gzip", DAY, "name", True, "pre-deploy"),
    ("db_backup_20261123.sql.zst", None, "db", "mysql-logical", "zstd", DAY, "name", True, "pre-deploy"),
    ("backup_20261123_235000.sql", None, "db", "mysql-logical", "none", AT, "name", False, "pre-deploy"),
    ("backup_20261123_235000.sql.gz", None, "db", "mysql-logical", "gzip", AT, "name", False, "pre-deploy"),
    ("emergency_backup_20261123_235000.sql", None, "db", "mysql-logical", "none", AT, "name", False, "pre-rollback"),
    ("emergency_backup_20261123_235000.sql.gz", None, "db", "mysql-logical", "gzip", AT, "name", False,
     "pre-rollback"),
    ("demo_20261123.tar.gz", None, "files", "tar", "gzip", DAY, "name", True, "pre-deploy"),
    ("demo_20261123.tar.zst", None, "files", "tar", "zstd", DAY, "name", True, "pre-deploy"),
    ("demo_20261123.tgz", None, "files", "tar", "gzip", DAY, "name", True, "pre-deploy"),
    ("config_20261123_235000.tar.gz", None, "config", "tar", "gzip", AT, "name", False, "pre-deploy"),
    (".env.backup", None, "config", "file", "none", MT, "mtime", True, "pre-deploy"),
    ("wp-config.php", None, "config", "file", "none", MT, "mtime", True, "pre-deploy"),
    ("crontab", None, "config", "file", "none", MT, "mtime", True, "pre-deploy"),
    ("crontab_backup", None, "config", "file", "none", MT, "mtime", True, "pre-deploy"),
    ("crontab_backup_20261123", None, "config", "file", "none", DAY, "name", True, "pre-deploy"),
    ("config", _config_dir, "config", "dir", None, MT, "mtime", True, "pre-deploy"),
    ("mongo_20261123_235000", _mongodump, "db", "mongodump", None, AT, "name", False, "pre-deploy"),
    ("shop.archive", None, "db", "mongodump-archive", "none", MT, "mtime", True, "pre-deploy"),
    ("shop_20261123.archive.gz", None, "db", "mongodump-archive", "gzip", DAY, "name", True, "pre-deploy"),
    ("mydumper_20261123_235000", _mydumper, "db", "mydumper", None, AT, "name", False, "pre-deploy"),
    ("mariabackup", _physical, "db", "mysql-physical", None, MT, "mtime", True, "pre-deploy"),
]


@pytest.mark.parametrize("name, make, kind, fmt, compression, created_at, source, weak, label", PATTERNS,
                         ids=[p[0] for p in PATTERNS])
def test_catalog_reads_every_naming_pattern(tmp_path, name, make, kind, fmt, compression, created_at, source,
                                            weak, label):
    if make is None:
        put(tmp_path, name)
    else:
        make(tmp_path / name)
        os.utime(tmp_path / name, (MTIME.timestamp(), MTIME.timestamp()))
    put(tmp_path, "README.txt", b"not a backup")
    (entry,) = catalog(str(tmp_path))
    assert entry["id"] == entry["name"] == name
    assert entry["path"] == str(tmp_path / name) and entry["root"] == str(tmp_path)
    assert (entry["kind"], entry["format"], entry["compression"]) == (kind, fmt, compression)
    assert (entry["created_at"], entry["created_at_source"], entry["weak"]) == (created_at, source, weak)
    assert (entry["label"], entry["set"], entry["sha256"], entry["error"]) == (label, None, None, None)
    assert entry["size"] > 0


def test_catalog_reads_a_manifest_set(tmp_path):
    make_set(tmp_path, "20261124T024500Z-pre-deploy", "2026-11-24T02:45:00.123456Z")
    entries = catalog(str(tmp_path))
    assert [e["id"] for e in entries] == ["20261124T024500Z-pre-deploy/files.tar.gz",
                                          "20261124T024500Z-pre-deploy/db.sql.gz",
                                          "20261124T024500Z-pre-deploy/config.tar.gz"]
    db = entries[1]
    assert db["path"] == str(tmp_path / "20261124T024500Z-pre-deploy" / "db.sql.gz")
    assert (db["set"], db["kind"], db["format"], db["tier"], db["app"], db["host"], db["label"], db["release"]) == (
        "20261124T024500Z-pre-deploy", "db", "mysql-logical", "wordpress", "demo", "wp1", "pre-deploy",
        "r-20261124T024500")
    assert (db["created_at"], db["created_at_source"], db["weak"]) == ("2026-11-24T02:45:00.123456Z", "manifest",
                                                                       False)
    assert db["meta"] == {"database": "wordpress"}
    assert all(verify_entry(e)["ok"] for e in entries)


@pytest.mark.parametrize("manifest, reason", [
    ("{not json", "unreadable manifest: Expecting property name"),
    (json.dumps({"rewind_manifest": 2, "files": []}), "manifest version 2 is newer than this collection reads"),
    (json.dumps({"rewind_manifest": 1, "created_at": "2026-11-24T02:45:00Z",
                 "files": [{"path": "db.sql", "kind": "database", "format": "mysql-logical"}]}),
     "files[0] needs a path, a kind out of db, files, config"),
    (json.dumps({"rewind_manifest": 1, "created_at": "yesterday", "files": []}), "'yesterday' is not an ISO 8601"),
])
def test_broken_manifest_is_listed_with_its_reason(tmp_path, manifest, reason):
    (tmp_path / "20261124T024500Z-pre-deploy").mkdir()
    (tmp_path / "20261124T024500Z-pre-deploy" / "manifest.json").write_text(manifest)
    put(tmp_path, "backup_20261123_235000.sql")
    good, broken = catalog(str(tmp_path))
    assert good["id"] == "backup_20261123_235000.sql"
    assert (broken["id"], broken["kind"]) == ("20261124T024500Z-pre-deploy", None)
    assert reason in broken["error"]
    result = select([good, broken], ["db"], before=CUTOFF)
    assert result["skipped"] == [{"path": broken["path"], "reason": broken["error"]}]
    with pytest.raises(SelectionError, match="cannot be used: .*manifest.json: unreadable manifest"):
        select([good, broken], ["db"], backup_id="20261124T024500Z-pre-deploy")


def test_symlinks_are_resolved_and_catalogued_once(tmp_path):
    root, elsewhere = tmp_path / "backups", tmp_path / "elsewhere"
    put(root, "backup_20261123_235000.sql")
    put(elsewhere, "db_backup_20261120.sql.gz")
    os.symlink("backup_20261123_235000.sql", root / "latest_backup.sql")
    os.symlink("backup_20261123_235000.sql", root / "previous.sql")
    os.symlink(elsewhere / "db_backup_20261120.sql.gz", root / "old.sql.gz")
    os.symlink("gone.sql", root / "dangling.sql")
    entries = catalog(str(root))
    assert [(e["id"], e["path"], e["meta"].get("aliases")) for e in entries] == [
        ("backup_20261123_235000.sql", str(root / "backup_20261123_235000.sql"), ["latest_backup.sql", "previous.sql"]),
        ("db_backup_20261120.sql.gz", str(elsewhere / "db_backup_20261120.sql.gz"), ["old.sql.gz"]),
        ("dangling.sql", str(root / "dangling.sql"), None),
    ]
    assert entries[2]["error"] == "dangling symlink to gone.sql"


# --- selection --------------------------------------------------------------------------------------

def entry(entry_id, created_at, kind="db", label="pre-deploy", set_id=None, tier=None, source="manifest",
          weak=False):
    return {"id": entry_id, "set": set_id, "root": "/var/backups/rewind/demo",
            "path": "/var/backups/rewind/demo/" + entry_id, "name": entry_id, "kind": kind, "format": "mysql-logical",
            "tier": tier, "label": label, "created_at": created_at, "created_at_source": source, "weak": weak,
            "error": None, "meta": {}, "release": None}


def set_entries(set_id, created_at, kinds=("db", "files", "config"), label="pre-deploy"):
    return [entry("%s/%s" % (set_id, kind), created_at, kind, label, set_id) for kind in kinds]


def chosen_ids(result):
    return {kind: e["id"] for kind, e in result["backups"].items()}


def test_a_backup_one_minute_after_the_cutoff_is_not_chosen():
    entries = set_entries("s0245", "2026-11-24T02:45:00Z") + set_entries("s0251", "2026-11-24T02:51:00Z")
    result = select(entries, ["db", "files"], before="2026-11-24T02:50:00Z")
    assert chosen_ids(result) == {"db": "s0245/db", "files": "s0245/files"}
    assert result["warnings"] == [] and result["skipped"] == []


def test_a_backup_exactly_at_the_cutoff_is_not_chosen():
    entries = [entry("early", "2026-11-24T02:40:00Z"), entry("same", "2026-11-24T02:50:00Z")]
    assert chosen_ids(select(entries, ["db"], before=CUTOFF)) == {"db": "early"}


@pytest.mark.parametrize("name", ["backup_20261123_235000.sql", "db_backup_20261123.sql.gz"])
def test_rollback_just_after_midnight_finds_yesterdays_backup(tmp_path, name):
    put(tmp_path, name)
    put(tmp_path, "backup_20261124_000200.sql")  # after the deployment at 00:01
    result = select(catalog(str(tmp_path)), ["db"], before="2026-11-24T00:01:00Z", verified=verify_entry)
    assert result["backups"]["db"]["id"] == name
    assert result["backups"]["db"]["verified"]["ok"] is True


def test_nothing_before_the_cutoff_says_what_there_is():
    entries = [entry("s0251/db", "2026-11-24T02:51:00Z", set_id="s0251")]
    with pytest.raises(SelectionError) as err:
        select(entries, ["db"], before=CUTOFF)
    assert str(err.value).startswith(
        "no db backup labelled pre-deploy created before 2026-11-24T02:50:00Z in /var/backups/rewind/demo; "
        "newest is s0251/db created 2026-11-24T02:51:00Z (after the cut-off). Check the cut-off")


def test_snapshots_are_not_chosen_unless_asked_for():
    entries = set_entries("deploy", "2026-11-24T01:00:00Z") \
        + set_entries("snap", "2026-11-24T02:00:00Z", label="pre-rollback")
    assert chosen_ids(select(entries, ["db"], before=CUTOFF)) == {"db": "deploy/db"}
    assert chosen_ids(select(entries, ["db"], before=CUTOFF, labels=["pre-deploy", "pre-rollback"])) == {
        "db": "snap/db"}
    with pytest.raises(SelectionError, match=r"the newest db backup there, snap/db, is labelled pre-rollback"):
        select(set_entries("snap", "2026-11-24T02:00:00Z", label="pre-rollback"), ["db"], before=CUTOFF)


def test_backup_id_of_a_set_wins_even_after_the_cutoff():
    entries = set_entries("old", "2026-11-20T01:00:00Z") + set_entries("new", "2026-11-24T01:00:00Z") \
        + set_entries("undo", "2026-11-24T03:10:00Z", label="pre-rollback")
    result = select(entries, ["db", "files"], before=CUTOFF, backup_id="old")
    assert chosen_ids(result) == {"db": "old/db", "files": "old/files"}
    result = select(entries, ["db"], before=CUTOFF, backup_id="undo")
    assert chosen_ids(result) == {"db": "undo/db"}
    assert result["warnings"] == ["db backup undo/db was created 2026-11-24T03:10:00Z, after the cut-off "
                                  "2026-11-24T02:50:00Z; using it because backup_id names it"]


def test_backup_id_may_be_a_symlink_name(tmp_path):
    make_set(tmp_path, "20261120T010000Z-pre-deploy", "2026-11-20T01:00:00Z")
    make_set(tmp_path, "20261124T010000Z-pre-deploy", "2026-11-24T01:00:00Z")
    put(tmp_path, "backup_20261121_010000.sql")
    os.symlink("20261120T010000Z-pre-deploy", tmp_path / "known-good")
    os.symlink("backup_20261121_010000.sql", tmp_path / "latest_backup.sql")
    entries = catalog(str(tmp_path))
    assert chosen_ids(select(entries, ["db", "files"], before=CUTOFF, backup_id="known-good")) == {
        "db": "20261120T010000Z-pre-deploy/db.sql.gz", "files": "20261120T010000Z-pre-deploy/files.tar.gz"}
    assert chosen_ids(select(entries, ["db"], before=CUTOFF, backup_id="latest_backup.sql")) == {
        "db": "backup_20261121_010000.sql"}


def test_backup_id_of_one_file_pins_its_kind_only():
    entries = set_entries("new", "2026-11-24T01:00:00Z") + [entry("db_backup_20261120.sql", "2026-11-20T00:00:00Z")]
    result = select(entries, ["db", "files"], before=CUTOFF, backup_id="db_backup_20261120.sql")
    assert chosen_ids(result) == {"db": "db_backup_20261120.sql", "files": "new/files"}
    assert "backup_id db_backup_20261120.sql names no files backup" in result["warnings"][0]


@pytest.mark.parametrize("backup_id, kinds, message", [
    ("nope", ["db"], "backup_id 'nope' matches no backup in /var/backups/rewind/demo; newest ids: new, lonely"),
    ("lonely", ["db", "files"], "backup set lonely has no files backup (it holds: db)"),
    ("new/config", ["db"], "backup_id 'new/config' is a config backup, but this rollback restores db"),
])
def test_bad_backup_id(backup_id, kinds, message):
    entries = set_entries("new", "2026-11-24T01:00:00Z") + set_entries("lonely", "2026-11-22T01:00:00Z", ["db"])
    with pytest.raises(SelectionError) as err:
        select(entries, kinds, before=CUTOFF, backup_id=backup_id)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("date", ["20261122", "2026-11-22"])
def test_date_takes_the_newest_of_that_utc_day(date):
    entries = [entry("a", "2026-11-22T08:00:00Z"), entry("b", "2026-11-22T23:59:59Z"),
               entry("c", "2026-11-23T00:00:00Z"), entry("d", "2026-11-21T23:00:00Z")]
    assert chosen_ids(select(entries, ["db"], before=CUTOFF, date=date)) == {"db": "b"}


def test_equally_new_prefers_the_set_already_chosen():
    entries = set_entries("z-db-only", "2026-11-24T01:00:00Z", ["db"]) + set_entries("a-full", "2026-11-24T01:00:00Z")
    # without the preference the higher id (z-db-only) would win the tie for db
    assert chosen_ids(select(entries, ["db"], before=CUTOFF)) == {"db": "z-db-only/db"}
    both = select(entries, ["files", "db"], before=CUTOFF)
    assert chosen_ids(both) == {"files": "a-full/files", "db": "a-full/db"}


def test_tier_filter_keeps_foreign_backups():
    entries = [entry("laravel", "2026-11-24T02:00:00Z", tier="laravel"),
               entry("wp", "2026-11-24T01:00:00Z", tier="wordpress"),
               entry("foreign.sql", "2026-11-24T01:30:00Z")]
    assert chosen_ids(select(entries, ["db"], before=CUTOFF, tier="wordpress")) == {"db": "foreign.sql"}
    assert chosen_ids(select(entries, ["db"], before=CUTOFF)) == {"db": "laravel"}


NEWEST_BAD = [entry("new", "2026-11-24T02:30:00Z"), entry("older", "2026-11-24T02:00:00Z"),
              entry("oldest", "2026-11-23T20:00:00Z")]


def verdicts(**ok):
    return {"/var/backups/rewind/demo/" + name: {"ok": good, "reason": None if good else "gzip stream is truncated"}
            for name, good in ok.items()}


def test_newest_failing_verification_stops_without_fallback():
    with pytest.raises(SelectionError) as err:
        select(NEWEST_BAD, ["db"], before=CUTOFF, verified=verdicts(new=False, older=True, oldest=True))
    assert str(err.value) == (
        "the newest db backup before the cut-off 2026-11-24T02:50:00Z, /var/backups/rewind/demo/new (created "
        "2026-11-24T02:30:00Z), failed verification: gzip stream is truncated. Do not restore it: replace it, name "
        "another backup with backup_id, or set allow_fallback=true to use the next older valid one within the RPO.")


def test_fallback_takes_the_next_older_valid_one_and_says_so():
    result = select(NEWEST_BAD, ["db"], before=CUTOFF, verified=verdicts(new=False, older=True, oldest=True),
                    allow_fallback=True, rpo_min=60)
    assert chosen_ids(result) == {"db": "older"}
    assert result["skipped"] == [{"path": "/var/backups/rewind/demo/new", "reason": "gzip stream is truncated"}]
    assert result["warnings"] == [
        "the newest db backup before the cut-off 2026-11-24T02:50:00Z, new, failed verification (gzip stream is "
        "truncated); using the next older valid one instead, older created 2026-11-24T02:00:00Z"]


def test_fallback_stays_within_the_rpo():
    with pytest.raises(SelectionError) as err:
        select(NEWEST_BAD, ["db"], before=CUTOFF, verified=verdicts(new=False, older=False, oldest=True),
               allow_fallback=True, rpo_min=60)
    assert str(err.value).startswith(
        "the newest db backup before the cut-off 2026-11-24T02:50:00Z failed verification and no older valid one "
        "is within the RPO (created at or after 2026-11-24T01:50:00Z): /var/backups/rewind/demo/new: gzip")


def test_verification_stops_at_the_first_valid_backup():
    seen = []

    def verify(e):
        seen.append(e["id"])
        return {"ok": True, "reason": None}
    select(NEWEST_BAD, ["db"], before=CUTOFF, verified=verify)
    assert seen == ["new"]


@pytest.mark.parametrize("rpo_action", ["fail", "warn"])
def test_rpo(rpo_action):
    entries = [entry("old", "2026-11-24T01:15:00Z")]
    message = ("db backup old was created 95 min before the cut-off 2026-11-24T02:50:00Z, more than the RPO of 60 "
               "min: restoring it loses what was written in between")
    if rpo_action == "fail":
        with pytest.raises(SelectionError) as err:
            select(entries, ["db"], before=CUTOFF, rpo_min=60)
        assert str(err.value) == message + ". Name a newer backup with backup_id, or accept the loss with " \
                                           "rpo_action=warn."
    else:
        assert select(entries, ["db"], before=CUTOFF, rpo_min=60, rpo_action="warn")["warnings"] == [message]
    assert select(entries, ["db"], before=CUTOFF, rpo_min=95)["warnings"] == []


@pytest.mark.parametrize("created_at, source, before, warning", [
    ("2026-11-23T00:00:00Z", "name", "2026-11-24T00:01:00Z",
     "db backup x has only a date in its name: its time is taken as the start of that day, 2026-11-23T00:00:00Z"),
    ("2026-11-24T00:00:00Z", "name", "2026-11-24T14:00:00Z",
     ", the cut-off's day, so it may have been taken after the deployment; check it before restoring"),
    ("2026-11-20T08:30:00Z", "mtime", CUTOFF, "its time 2026-11-20T08:30:00Z is the file's modification time"),
])
def test_weak_times_are_flagged(created_at, source, before, warning):
    result = select([entry("x", created_at, source=source, weak=True)], ["db"], before=before)
    assert warning in result["warnings"][0]


def test_manifest_checksum_mismatch_is_caught_end_to_end(tmp_path):
    make_set(tmp_path, "20261124T024500Z-pre-deploy", "2026-11-24T02:45:00Z", corrupt=("db.sql.gz",))
    with pytest.raises(SelectionError) as err:
        select(catalog(str(tmp_path)), ["db"], before=CUTOFF, verified=verify_entry)
    assert str(tmp_path / "20261124T024500Z-pre-deploy" / "db.sql.gz") in str(err.value)
    assert "failed verification: sha256 is " in str(err.value)
    assert "expected %s: the file changed since the backup was made" % ("0" * 64) in str(err.value)


def test_age_is_reported_from_now_only():
    entries = [entry("x", "2026-11-24T02:45:00Z")]
    result = select(entries, ["db"], before=CUTOFF, now="2026-11-24T03:15:30Z")
    assert result["backups"]["db"]["age_min"] == 30
    assert "age_min" not in select(entries, ["db"], before=CUTOFF)["backups"]["db"]


def test_an_unverified_path_counts_as_failed():
    with pytest.raises(SelectionError, match="failed verification: was not verified"):
        select([entry("x", "2026-11-24T02:45:00Z")], ["db"], before=CUTOFF, verified={})


def test_parse_time_forms():
    expected = datetime.datetime(2026, 11, 24, 2, 50, tzinfo=datetime.timezone.utc)
    for text in ("2026-11-24T02:50:00Z", "2026-11-24T02:50:00", "2026-11-24T03:50:00+01:00", "20261124T025000Z"):
        assert parse_time(text) == expected
    assert parse_time("2026-11-24T02:50:00.5Z") == expected.replace(microsecond=500000)
    with pytest.raises(ValueError, match="is not an ISO 8601 time"):
        parse_time("24/11/2026")


# --- properties -------------------------------------------------------------------------------------

BASE = datetime.datetime(2026, 11, 24, 2, 50, tzinfo=datetime.timezone.utc)

backups = st.lists(st.tuples(st.integers(-3000, 3000), st.sampled_from(("pre-deploy", "pre-rollback")),
                             st.booleans()), max_size=25, unique_by=lambda b: b[0])


def _generated(items):
    entries = [entry("b%d" % i, (BASE + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     label=label) for i, (minutes, label, _ok) in enumerate(items)]
    verified = {e["path"]: {"ok": ok, "reason": None if ok else "corrupt"} for e, (_m, _l, ok) in zip(entries, items)}
    return entries, verified


def _oracle(entries, verified, cutoff):
    """Brute force: every entry that qualifies, sorted by time."""
    return sorted((e for e in entries if e["label"] == "pre-deploy" and parse_time(e["created_at"]) < cutoff),
                  key=lambda e: parse_time(e["created_at"]))


@settings(max_examples=300, deadline=None)
@given(items=backups, cutoff_shift=st.integers(-3000, 3000))
def test_fallback_always_picks_the_newest_valid_backup_before_the_cutoff(items, cutoff_shift):
    entries, verified = _generated(items)
    cutoff = BASE + datetime.timedelta(minutes=cutoff_shift)
    valid = [e for e in _oracle(entries, verified, cutoff) if verified[e["path"]]["ok"]]
    try:
        chosen = select(entries, ["db"], before=cutoff, verified=verified, allow_fallback=True)["backups"]["db"]
    except SelectionError:
        assert not valid
        return
    assert parse_time(chosen["created_at"]) < cutoff
    assert verified[chosen["path"]]["ok"] and chosen["verified"]["ok"]
    assert chosen["id"] == valid[-1]["id"]


@settings(max_examples=300, deadline=None)
@given(items=backups, cutoff_shift=st.integers(-3000, 3000))
def test_without_fallback_only_the_newest_candidate_is_acceptable(items, cutoff_shift):
    entries, verified = _generated(items)
    cutoff = BASE + datetime.timedelta(minutes=cutoff_shift)
    candidates = _oracle(entries, verified, cutoff)
    try:
        chosen = select(entries, ["db"], before=cutoff, verified=verified)["backups"]["db"]
    except SelectionError:
        assert not candidates or not verified[candidates[-1]["path"]]["ok"]
        return
    assert chosen["id"] == candidates[-1]["id"] and verified[chosen["path"]]["ok"]


@settings(max_examples=200, deadline=None)
@given(items=backups, rpo=st.integers(0, 3000))
def test_fallback_never_goes_beyond_the_rpo(items, rpo):
    entries, verified = _generated(items)
    try:
        result = select(entries, ["db"], before=BASE, verified=verified, allow_fallback=True, rpo_min=rpo,
                        rpo_action="warn")
    except SelectionError:
        return
    chosen = result["backups"]["db"]
    newest = _oracle(entries, verified, BASE)[-1]
    if chosen["id"] != newest["id"]:  # a fallback happened
        assert BASE - parse_time(chosen["created_at"]) <= datetime.timedelta(minutes=rpo)
