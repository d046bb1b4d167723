# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL/MariaDB through its own client tools, credentials in an option file.

The password is written to a 0600 option file in a private 0700 directory and passed
as ``--defaults-extra-file``: it never reaches a command line (``ps``) or a log.
Streaming pipelines (dump → compressor → file, file → decompressor → client) run as
argument lists without a shell, so a failure anywhere in the pipe is seen.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import tempfile

_IDENT = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


class MysqlError(RuntimeError):
    """A client tool failed; the message says which and why (never the password)."""


def connection_argument_spec():
    """The login options every rewind module that talks to MySQL/MariaDB takes."""
    return dict(
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_host=dict(type="str"),
        login_port=dict(type="int", default=3306),
        login_unix_socket=dict(type="str"),
        client_bin_dir=dict(type="path"),
    )


def quote_ident(name):
    """Backquote a database or table name after checking it is a plain identifier."""
    if not _IDENT.match(name or ""):
        raise MysqlError("refusing unusual identifier %r (letters, digits, _ and $ only)" % (name,))
    return "`%s`" % name


def _option_file_text(params):
    lines = ["[client]"]
    for key, opt in (("login_user", "user"), ("login_password", "password"),
                     ("login_host", "host"), ("login_unix_socket", "socket")):
        value = params.get(key)
        if value:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append('%s="%s"' % (opt, escaped))
    if params.get("login_host"):
        lines.append("port=%d" % int(params.get("login_port") or 3306))
    return "\n".join(lines) + "\n"


class Client:
    """One set of credentials, usable for the life of a ``with`` block."""

    def __init__(self, params):
        self.params = params
        self._dir = None
        self.option_file = None

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="rewind-my-")
        os.chmod(self._dir, 0o700)
        self.option_file = os.path.join(self._dir, "client.cnf")
        fd = os.open(self.option_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_option_file_text(self.params))
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._dir, ignore_errors=True)

    def tool(self, name):
        """Path of a client tool (mariadb names first, then the mysql ones)."""
        candidates = {
            "mysql": ("mariadb", "mysql"),
            "mysqldump": ("mariadb-dump", "mysqldump"),
            "mariadb-backup": ("mariadb-backup", "mariabackup"),
        }.get(name, (name,))
        bin_dir = self.params.get("client_bin_dir")
        for candidate in candidates:
            path = os.path.join(bin_dir, candidate) if bin_dir else shutil.which(candidate)
            if path and os.access(path, os.X_OK):
                return path
        raise MysqlError("%s not found (looked for %s%s); install the MariaDB/MySQL client"
                         % (name, ", ".join(candidates), " in " + bin_dir if bin_dir else " on PATH"))

    def argv(self, name, *args):
        return [self.tool(name), "--defaults-extra-file=" + self.option_file] + list(args)

    def query(self, sql, database=None):
        """Run SQL, return rows as lists of strings (tab-separated batch output)."""
        args = ["--batch", "--skip-column-names", "--raw"]
        if database:
            args.append(database)
        proc = subprocess.run(self.argv("mysql", *args), input=sql.encode(), capture_output=True)
        if proc.returncode != 0:
            raise MysqlError("mysql failed: %s" % proc.stderr.decode(errors="replace").strip())
        text = proc.stdout.decode()
        return [line.split("\t") for line in text.splitlines() if line != ""]

    def databases(self):
        return {row[0] for row in self.query("SHOW DATABASES")}

    def tables(self, database):
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '%s' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name" % database.replace("'", "''"))
        return [row[0] for row in rows]

    def variables(self, *names):
        """{name: value} of server variables (``@@version``, ``@@datadir`` …) as strings."""
        row = self.query("SELECT " + ", ".join("@@%s" % name for name in names))[0]
        return dict(zip(names, row))

    def checksums(self, database):
        """{table: CHECKSUM TABLE value} for every base table of a database."""
        tables = self.tables(database)
        if not tables:
            return {}
        sql = "CHECKSUM TABLE %s" % ", ".join(
            "%s.%s" % (quote_ident(database), quote_ident(t)) for t in tables)
        result = {}
        for name, value in self.query(sql):
            result[name.split(".", 1)[1]] = None if value == "NULL" else int(value)
        return result


def compressor_argv(compression, decompress=False):
    """The fastest available tool for a compression, as an argument list."""
    if compression == "zstd":
        return ["zstd", "-dc", "-T0"] if decompress else ["zstd", "-q", "-T0", "-3", "-c"]
    if compression == "gzip":
        tool = "pigz" if shutil.which("pigz") else "gzip"
        return [tool, "-dc"] if decompress else [tool, "-c", "-6"]
    if compression in (None, "none"):
        return None
    raise MysqlError("unknown compression %r" % (compression,))


def run_pipeline(stages, stdin_path=None, stdout_path=None, stdout_mode=0o600):
    """Run argv lists joined by pipes; raise with the failing stage's stderr.

    Either end can be a file. Every stage's exit status is checked (what
    ``set -o pipefail`` gives a shell script, which the plans' scripts lacked).
    """
    stages = [s for s in stages if s]
    procs = []
    with contextlib.ExitStack() as stack:
        stdin = stack.enter_context(open(stdin_path, "rb")) if stdin_path else subprocess.DEVNULL
        stdout = None
        if stdout_path:
            fd = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stdout_mode)
            stdout = stack.enter_context(os.fdopen(fd, "wb"))
        errs = []
        for index, argv in enumerate(stages):
            last = index == len(stages) - 1
            err = stack.enter_context(tempfile.TemporaryFile())
            errs.append(err)
            proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout if last else subprocess.PIPE,
                                    stderr=err)
            if procs:
                procs[-1].stdout.close()  # the next stage owns the pipe now
            procs.append(proc)
            stdin = proc.stdout
        failures = []
        for argv, proc, err in zip(stages, procs, errs):
            proc.wait()
            if proc.returncode != 0:
                err.seek(0)
                message = err.read().decode(errors="replace").strip()
                failures.append("%s exited %d%s" % (os.path.basename(argv[0]), proc.returncode,
                                                    ": " + message if message else ""))
        if failures:
            raise MysqlError("; ".join(failures))


# --- physical backups (mariadb-backup) and restore windows -------------------------------------
#
# Pure helpers for the physical path: what a backup folder or a datadir is, whether a server may
# start on it, and the statements that tune a server for a bulk load and put it back after.

#: Schemas every server has; a physical restore replaces them with the backup's, which is only
#: right when they come from the same server version.
SYSTEM_SCHEMAS = frozenset(("mysql", "performance_schema", "sys", "information_schema"))
#: mariadb-backup writes one of these when it finishes; their backup_type says if it was prepared.
CHECKPOINT_FILES = ("mariadb_backup_checkpoints", "xtrabackup_checkpoints")
INFO_FILES = ("mariadb_backup_info", "xtrabackup_info")
#: --prepare turns a backup into files a server starts on without crash recovery.
PREPARED_TYPES = ("log-applied", "full-prepared")
#: Files a distribution keeps in the datadir that mariadb-backup does not copy; carried over from
#: the live datadir so the restored server starts as the old one did (no needless upgrade run).
CARRIED_FILES = re.compile(r"^(debian-[0-9.]+\.flag|mysql_upgrade_info)$")
#: Session settings for loading a consistent dump: its rows were checked when they were written.
SESSION_TUNING = "SET SESSION unique_checks=0, foreign_key_checks=0"
#: Server settings for the restore window only: group commit instead of a log flush per
#: transaction. Losing the last second of a restore to a crash costs a re-run, nothing else.
WINDOW_TUNING = (("innodb_flush_log_at_trx_commit", "2"),)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text):
    """``(flavor, major, minor, version)`` from what a server, its binary or a backup says.

    ``10.11.19-MariaDB-0+deb12u1``, ``5.5.5-10.11.6-MariaDB`` (the replication prefix),
    ``mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu`` and ``8.0.36-0ubuntu0.22.04.1``
    (MySQL) are all understood. Raises MysqlError when there is no version in it.
    """
    text = (text or "").strip()
    flavor = "MariaDB" if "mariadb" in text.lower() else "MySQL"
    found = [m for m in _VERSION.finditer(text)]
    if flavor == "MariaDB" and len(found) > 1 and found[0].group(0) == "5.5.5":
        found = found[1:]
    if not found:
        raise MysqlError("no server version in %r" % (text,))
    match = found[0]
    return flavor, int(match.group(1)), int(match.group(2)), match.group(0)


def version_mismatch(backup_version, server_version):
    """None when a server may start on files made by ``backup_version``, else why not.

    InnoDB's on-disk format and the system tables change between major.minor versions (and
    between MariaDB and MySQL), so the flavor and major.minor must be equal; patch releases mix.
    """
    backup, server = parse_version(backup_version), parse_version(server_version)
    if backup[:3] == server[:3]:
        return None
    return ("the physical backup was made by %s %s and this server is %s %s: data files are only "
            "portable between servers of the same flavor and major.minor version (%s %d.%d)"
            % (backup[0], backup[3], server[0], server[3], backup[0], backup[1], backup[2]))


def parse_key_values(text):
    """``key = value`` lines (mariadb-backup's info and checkpoint files) as a dict of strings."""
    found = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def _read_first(folder, names):
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                return parse_key_values(handle.read())
    return None


def physical_source(folder):
    """What a folder is to a physical restore.

    ``{"type": "backup", "prepared": bool, "backup_type", "server_version"}`` for a mariadb-backup
    folder, ``{"type": "datadir", "server_version"}`` for a server's data directory (one moved
    aside by an earlier restore), ``{"type": None}`` for anything else. ``server_version`` is None
    when the folder does not say.
    """
    checkpoints = _read_first(folder, CHECKPOINT_FILES)
    if checkpoints is not None:
        info = _read_first(folder, INFO_FILES) or {}
        backup_type = checkpoints.get("backup_type", "")
        return {"type": "backup", "prepared": backup_type in PREPARED_TYPES, "backup_type": backup_type,
                "server_version": info.get("server_version") or None}
    if os.path.isdir(os.path.join(folder, "mysql")) and any(
            os.path.exists(os.path.join(folder, name)) for name in ("ibdata1", "aria_log_control")):
        version = None
        upgrade_info = os.path.join(folder, "mysql_upgrade_info")
        if os.path.isfile(upgrade_info):
            with open(upgrade_info, encoding="utf-8", errors="replace") as handle:
                version = handle.read().strip("\0 \n") or None
        return {"type": "datadir", "server_version": version}
    return {"type": None}


def schemas_in(folder):
    """The database folders of a datadir or physical backup, system schemas left out, sorted."""
    found = []
    with os.scandir(folder) as scan:
        for item in scan:
            if item.is_dir(follow_symlinks=False) and item.name not in SYSTEM_SCHEMAS \
                    and not item.name.startswith(("#", ".")) and item.name != "lost+found":
                found.append(item.name)
    return sorted(found)


def foreign_schemas(schemas, database):
    """Schemas that are neither ``database`` nor the scratch schemas of its logical restore."""
    return [s for s in schemas if s != database and not s.startswith(database + "__rw_")]


def tree_bytes(folder):
    """Total size of the regular files below a folder (symlinks not followed)."""
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(parent, name))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def chown_tree(root, uid, gid):
    """Give every entry below and including ``root`` to uid:gid in one walk; returns how many changed."""
    changed = _lchown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            changed += _lchown(os.path.join(parent, name), uid, gid)
    return changed


def _lchown(path, uid, gid):
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) == (uid, gid):
        return 0
    os.lchown(path, uid, gid)
    return 1


def window_statements(current, wanted=WINDOW_TUNING):
    """``(apply, revert)`` SQL for server settings held only while a restore runs.

    ``current`` maps each setting's name to its value now; settings already at the wanted value
    are left out. Both are None when there is nothing to change.
    """
    changes = [(name, value, current[name]) for name, value in wanted
               if str(current.get(name)) != str(value)]
    if not changes:
        return None, None
    apply_sql = "SET GLOBAL " + ", ".join("%s=%s" % (name, value) for name, value, _old in changes)
    revert_sql = "SET GLOBAL " + ", ".join("%s=%s" % (name, old) for name, _value, old in changes)
    return apply_sql, revert_sql


def mydumper_source_db(folder):
    """The one database a mydumper folder holds (from its ``<db>-schema-create.sql[.gz|.zst]``)."""
    found = set()
    for name in os.listdir(folder):
        match = re.match(r"^(.+)-schema-create\.sql(\.gz|\.zst)?$", name)
        if match:
            found.add(match.group(1))
    if len(found) != 1:
        raise MysqlError("mydumper folder %s holds %s; restore one database at a time"
                         % (folder, "databases " + ", ".join(sorted(found)) if found else "no database"))
    return found.pop()


def error_summary(stderr, limit=5):
    """The lines of a tool's chatty stderr that say what went wrong (never a SHOW GRANTS line).

    mariadb-backup and myloader log hundreds of lines; an operator needs the ``Error`` ones.
    Lines that could carry a password hash (``IDENTIFIED BY``) are dropped.
    """
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    lines = [line for line in lines if "IDENTIFIED" not in line.upper()]
    errors = [line for line in lines if re.search(r"\b(error|critical|fatal)\b", line, re.I)]
    return " | ".join((errors or lines)[-limit:]) or "no message"


def run_tool(argv, what=None):
    """Run one client tool; return its stdout, or raise MysqlError with error_summary(stderr)."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise MysqlError("%s exited %d: %s" % (what or os.path.basename(argv[0]), proc.returncode,
                                              error_summary(proc.stderr.decode(errors="replace"))))
    return proc.stdout.decode(errors="replace")
