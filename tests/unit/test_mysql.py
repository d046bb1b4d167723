"""The pure helpers of _mysql (versions, physical backup folders, restore windows, tool errors), and what
mysql_physical_restore restores from and refuses."""

import os

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils._mysql import (
    MysqlError, chown_tree, error_summary, foreign_schemas, mydumper_source_db, parse_key_values, parse_version,
    physical_source, run_tool, schemas_in, tree_bytes, version_mismatch, window_statements)
from ansible_collections.rewind.rollback.plugins.modules import mysql_physical_restore as physical


@pytest.mark.parametrize("text, expected", [
    ("10.11.19-MariaDB-0+deb12u1", ("MariaDB", 10, 11, "10.11.19")),
    ("5.5.5-10.11.6-MariaDB", ("MariaDB", 10, 11, "10.11.6")),
    ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)", ("MariaDB", 10, 11, "10.11.19")),
    ("10.6.18-MariaDB-log", ("MariaDB", 10, 6, "10.6.18")),
    ("8.0.36-0ubuntu0.22.04.1", ("MySQL", 8, 0, "8.0.36")),
    ("/usr/sbin/mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)", ("MySQL", 8, 0, "8.0.36")),
])
def test_parse_version_reads_servers_binaries_and_backups(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", None, "MariaDB", "unknown"])
def test_parse_version_refuses_text_without_a_version(text):
    with pytest.raises(MysqlError):
        parse_version(text)


@pytest.mark.parametrize("backup, server, ok", [
    ("10.11.19-MariaDB-0+deb12u1", "10.11.6-MariaDB-0+deb12u1", True),     # patch releases mix
    ("10.11.6-MariaDB", "5.5.5-10.11.19-MariaDB", True),
    ("10.6.18-MariaDB", "10.11.6-MariaDB", False),                           # major.minor differ
    ("11.4.2-MariaDB", "10.11.6-MariaDB", False),
    ("8.0.36", "10.11.6-MariaDB", False),                                    # flavor differs
])
def test_version_mismatch_allows_only_the_same_flavor_and_major_minor(backup, server, ok):
    problem = version_mismatch(backup, server)
    assert (problem is None) == ok
    if not ok:
        assert parse_version(backup)[3] in problem and parse_version(server)[3] in problem, "names both versions"


def test_parse_key_values_reads_mariadb_backup_files():
    text = "backup_type = log-applied\nfrom_lsn = 0\nname = \ntool_command = --backup --target-dir=/x\n\njunk\n"
    assert parse_key_values(text) == {"backup_type": "log-applied", "from_lsn": "0", "name": "",
                                      "tool_command": "--backup --target-dir=/x"}


def _write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


@pytest.mark.parametrize("backup_type, prepared", [("log-applied", True), ("full-prepared", True),
                                                   ("full-backuped", False)])
def test_physical_source_tells_a_prepared_backup(tmp_path, backup_type, prepared):
    _write(str(tmp_path / "xtrabackup_checkpoints"), "backup_type = %s\n" % backup_type)
    _write(str(tmp_path / "xtrabackup_info"), "server_version = 10.11.19-MariaDB-0+deb12u1\n")
    assert physical_source(str(tmp_path)) == {"type": "backup", "prepared": prepared, "backup_type": backup_type,
                                              "server_version": "10.11.19-MariaDB-0+deb12u1"}


def test_physical_source_tells_a_data_directory_and_its_version(tmp_path):
    os.makedirs(str(tmp_path / "mysql"))
    _write(str(tmp_path / "ibdata1"))
    _write(str(tmp_path / "mysql_upgrade_info"), "10.11.19-MariaDB\0")
    assert physical_source(str(tmp_path)) == {"type": "datadir", "server_version": "10.11.19-MariaDB"}


def test_physical_source_knows_nothing_else(tmp_path):
    _write(str(tmp_path / "db.sql"), "-- dump")
    assert physical_source(str(tmp_path)) == {"type": None}


def test_schemas_leave_out_system_and_internal_folders(tmp_path):
    for name in ("mysql", "sys", "performance_schema", "wordpress", "wordpress__rw_new", "shop", "#innodb_redo",
                 ".hidden", "lost+found"):
        os.makedirs(str(tmp_path / name))
    _write(str(tmp_path / "ibdata1"))
    assert schemas_in(str(tmp_path)) == ["shop", "wordpress", "wordpress__rw_new"]
    assert foreign_schemas(schemas_in(str(tmp_path)), "wordpress") == ["shop"]


def test_tree_bytes_counts_regular_files_only(tmp_path):
    _write(str(tmp_path / "a" / "b"), "x" * 10)
    _write(str(tmp_path / "c"), "y" * 5)
    os.symlink("c", str(tmp_path / "link"))
    assert tree_bytes(str(tmp_path)) == 15


def test_chown_tree_changes_only_what_differs(tmp_path):
    _write(str(tmp_path / "d" / "f"))
    os.symlink("d/f", str(tmp_path / "l"))
    uid, gid = os.getuid(), os.getgid()
    assert chown_tree(str(tmp_path), uid, gid) == 0, "already owned: nothing changed, nothing counted"


@pytest.mark.parametrize("current, expected", [
    ({"innodb_flush_log_at_trx_commit": "1"},
     ("SET GLOBAL innodb_flush_log_at_trx_commit=2", "SET GLOBAL innodb_flush_log_at_trx_commit=1")),
    ({"innodb_flush_log_at_trx_commit": "0"},
     ("SET GLOBAL innodb_flush_log_at_trx_commit=2", "SET GLOBAL innodb_flush_log_at_trx_commit=0")),
    ({"innodb_flush_log_at_trx_commit": "2"}, (None, None)),
])
def test_window_statements_change_and_restore_only_what_differs(current, expected):
    assert window_statements(current) == expected


def test_window_statements_cover_several_settings():
    apply_sql, revert_sql = window_statements({"a": "1", "b": "ON", "c": "5"}, (("a", "2"), ("b", "ON"), ("c", "9")))
    assert apply_sql == "SET GLOBAL a=2, c=9" and revert_sql == "SET GLOBAL a=1, c=5"


def test_error_summary_keeps_the_errors_and_drops_grants():
    stderr = "\n".join([
        "[00] 2026-11-24 03:49:48 Connecting to MariaDB server host: localhost, user: u, password: set",
        "[00] 2026-11-24 03:49:48 Error: missing required privilege RELOAD on *.*",
        "[00] 2026-11-24 03:49:48 Error: missing required privilege PROCESS on *.*",
        "[00] 2026-11-24 03:49:48   1.GRANT USAGE ON *.* TO `u`@`localhost` IDENTIFIED BY PASSWORD '*D8218'",
    ])
    summary = error_summary(stderr)
    assert "RELOAD" in summary and "PROCESS" in summary
    assert "IDENTIFIED" not in summary and "*D8218" not in summary


def test_error_summary_falls_back_to_the_last_lines():
    assert error_summary("one\ntwo\nthree", limit=2) == "two | three"
    assert error_summary("") == "no message"


def test_run_tool_raises_with_the_summary():
    with pytest.raises(MysqlError, match=r"sh exited 3: Error: boom"):
        run_tool(["sh", "-c", "echo noise >&2; echo 'Error: boom' >&2; exit 3"])
    assert run_tool(["sh", "-c", "echo out"]) == "out\n"


def test_mydumper_source_db_needs_exactly_one_database(tmp_path):
    _write(str(tmp_path / "metadata"), "Finished dump at: x")
    _write(str(tmp_path / "wordpress-schema-create.sql.gz"))
    _write(str(tmp_path / "wordpress.wp_posts.sql.gz"))
    assert mydumper_source_db(str(tmp_path)) == "wordpress"
    _write(str(tmp_path / "shop-schema-create.sql"))
    with pytest.raises(MysqlError, match="databases shop, wordpress"):
        mydumper_source_db(str(tmp_path))


# --- mysql_physical_restore: what it restores from, and what it refuses ---------------------------


def _backup(folder, version="10.11.19-MariaDB-0+deb12u1", backup_type="log-applied", databases=("wordpress",)):
    _write(os.path.join(folder, "xtrabackup_checkpoints"), "backup_type = %s\n" % backup_type)
    _write(os.path.join(folder, "xtrabackup_info"), "server_version = %s\n" % version)
    for name in ("mysql",) + tuple(databases):
        _write(os.path.join(folder, name, "t.ibd"), "x" * 100)
    return folder


def _datadir(folder, databases=("wordpress",)):
    for name in ("mysql",) + tuple(databases):
        _write(os.path.join(folder, name, "t.ibd"), "y")
    _write(os.path.join(folder, "ibdata1"), "z")
    return folder


def _params(**overrides):
    params = dict(database="wordpress", whole_server=False, consume=False, verify=True)
    params.update(overrides)
    return params


LIVE = {"up": True, "version": "10.11.6-MariaDB-0+deb12u1", "datadir": None, "innodb_dirs": ["", "./", "NULL"]}


def _check(tmp_path, backup, **overrides):
    datadir = _datadir(str(tmp_path / "lib" / "mysql"))
    params = _params(**overrides)
    return physical._check(params, backup, physical_source(backup), datadir, datadir + ".rewind-x", LIVE, {})


def test_source_of_a_set_is_its_physical_item(tmp_path):
    _write(str(tmp_path / "manifest.json"), '{"files": [{"kind": "db", "format": "mysql-logical", "path": "db.sql.zst"},'
                                            ' {"kind": "db", "format": "mysql-physical", "path": "db.physical",'
                                            ' "tables": {"t": 1}}]}')
    folder, item = physical._source(str(tmp_path))
    assert folder == str(tmp_path / "db.physical") and item["tables"] == {"t": 1}


def test_source_of_a_set_without_a_physical_item_is_plainly_unusable(tmp_path):
    _write(str(tmp_path / "manifest.json"), '{"files": [{"kind": "db", "format": "mysql-logical", "path": "db.sql.zst"}]}')
    with pytest.raises(physical.Unusable, match="has no physical backup") as caught:
        physical._source(str(tmp_path))
    assert not caught.value.notable, "no warning: the plan simply loads the dump"


def test_source_of_a_folder_is_the_folder(tmp_path):
    assert physical._source(str(tmp_path)) == (str(tmp_path), {})


def test_check_accepts_a_prepared_backup_of_the_same_major_minor(tmp_path):
    backup = _backup(str(tmp_path / "db.physical"))
    assert _check(tmp_path, backup) == "10.11.19-MariaDB-0+deb12u1"


@pytest.mark.parametrize("kwargs, overrides, message", [
    ({"version": "10.6.18-MariaDB"}, {}, r"made by MariaDB 10\.6\.18 and this server is MariaDB 10\.11\.6"),
    ({"backup_type": "full-backuped"}, {}, r"was not prepared .* mariadb-backup --prepare"),
    ({"databases": ("wordpress", "shop")}, {}, r"other databases too \(shop\)"),
    ({"databases": ("blog",)}, {}, r"holds no database wordpress"),
])
def test_check_refuses_what_a_server_cannot_take(tmp_path, kwargs, overrides, message):
    backup = _backup(str(tmp_path / "db.physical"), **kwargs)
    with pytest.raises(physical.Unusable, match=message) as caught:
        _check(tmp_path, backup, **overrides)
    assert caught.value.notable


def test_check_allows_other_databases_with_whole_server(tmp_path):
    backup = _backup(str(tmp_path / "db.physical"), databases=("wordpress", "shop"))
    assert _check(tmp_path, backup, whole_server=True)


def test_check_refuses_innodb_files_outside_the_data_directory(tmp_path):
    backup = _backup(str(tmp_path / "db.physical"))
    datadir = _datadir(str(tmp_path / "lib" / "mysql"))
    live = dict(LIVE, innodb_dirs=["/srv/innodb-logs"])
    with pytest.raises(physical.Unusable, match="outside the data directory"):
        physical._check(_params(), backup, physical_source(backup), datadir, datadir + ".rewind-x", live, {})


def test_check_refuses_an_existing_snapshot_path(tmp_path):
    backup = _backup(str(tmp_path / "db.physical"))
    datadir = _datadir(str(tmp_path / "lib" / "mysql"))
    os.makedirs(datadir + ".rewind-x")
    with pytest.raises(physical.Unusable, match="already exists"):
        physical._check(_params(), backup, physical_source(backup), datadir, datadir + ".rewind-x", LIVE, {})


def test_check_prefers_the_manifests_version_and_verifies_against_it(tmp_path):
    backup = _backup(str(tmp_path / "db.physical"))
    datadir = _datadir(str(tmp_path / "lib" / "mysql"))
    item = {"server_version": "10.6.18-MariaDB"}
    with pytest.raises(physical.Unusable, match=r"10\.6\.18"):
        physical._check(_params(), backup, physical_source(backup), datadir, datadir + ".rewind-y", LIVE, item)
    item = {"sha256": "0" * 64, "size": 1}
    with pytest.raises(physical.Unusable, match="failed verification"):
        physical._check(_params(), backup, physical_source(backup), datadir, datadir + ".rewind-y", LIVE, item)
