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
