#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysql_restore
short_description: Restore a MySQL/MariaDB database from a logical dump, exactly, and prove it
version_added: 0.1.0
description:
  - Streams the dump (plain, gzip or zstd) into a scratch schema next to the live one, compares
    CHECKSUM TABLE of every table with the values recorded in the backup's manifest, and only
    then swaps the scratch tables in with one atomic C(RENAME TABLE). A dump that fails half way
    or does not match its manifest leaves the live database untouched.
  - After the swap the database holds exactly the backup's tables; tables created after the backup
    (by the release being rolled back) are gone. Save them first with M(rewind.rollback.snapshot).
  - When the live database already equals the backup (same tables, same checksums) nothing is done
    and the result is not changed, so a rollback can be re-run safely.
  - A dump with views, triggers, routines or events cannot be swapped table by table; the module
    then drops and re-creates the database and loads the dump into it (O(method=replace)).
  - The load is tuned for a consistent dump. The session skips unique and foreign-key checks, and
    for the load only the server commits its log once a second (C(innodb_flush_log_at_trx_commit=2)),
    set back as it was afterwards. Changing that server setting needs C(SUPER); without it the load
    runs untuned, which the result's C(tuning) says (and a warning, for a backup file of 16 MiB or more).
  - A mydumper folder is loaded with C(myloader), several tables at a time.
author: rewind developers (@rewind)
options:
  database:
    description: The live database.
    type: str
    required: true
  src:
    description:
      - The dump file (C(.sql), C(.sql.gz) or C(.sql.zst)); compression is detected from its first bytes.
      - Or a mydumper folder holding one database, loaded with C(myloader).
    type: path
    required: true
  expected_tables:
    description:
      - The C(table → checksum) map recorded in the backup's manifest. The restored tables must match it
        before they go live, and the live database matching it means there is nothing to do.
      - Without it the restore cannot be proven and always runs.
    type: dict
  method:
    description:
      - C(swap) loads into a scratch schema and swaps tables atomically (live data untouched until the
        restored data has been checked). C(replace) drops and re-creates the database, then loads.
      - C(auto) is C(swap) unless the dump has views, triggers, routines or events.
    type: str
    choices: [auto, swap, replace]
    default: auto
  compare_first:
    description:
      - Compare the live database with O(expected_tables) first and do nothing when they are equal.
      - V(false) skips that comparison in a real run (check mode always compares), for a caller that
        compared them moments ago; each comparison reads the whole database.
    type: bool
    default: true
  tune_server:
    description:
      - Hold C(innodb_flush_log_at_trx_commit=2) while the dump loads, and set it back after. Skipped
        (see the C(tuning) result) when the login may not change server settings.
    type: bool
    default: true
  threads:
    description: Threads of C(myloader) for a mydumper folder. Default the number of CPUs, at most 8.
    type: int
extends_documentation_fragment:
  - rewind.rollback.mysql_login
attributes:
  check_mode:
    support: full
    details: Compares the live checksums with O(expected_tables) and reports whether a restore would run.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Restore the database chosen by the plan
  rewind.rollback.mysql_restore:
    database: wordpress
    src: "{{ rewind_plan.backups.db.path }}"
    expected_tables: "{{ rewind_plan.backups.db.meta.tables }}"
    login_user: wordpress
    login_password: "{{ wordpress_db_password }}"
"""

RETURN = r"""
differs:
  description:
    - Whether the live database differed from the backup when the module started (always true
      without O(expected_tables)). In check mode this is the answer to "would it restore?".
  returned: always
  type: bool
restored:
  description: Whether the database was replaced.
  returned: always
  type: bool
method:
  description: How it was restored (C(swap), C(replace)) or C(none).
  returned: always
  type: str
tables:
  description: CHECKSUM TABLE of every table of the live database after the module ran.
  returned: success
  type: dict
removed_tables:
  description: Live tables that the backup does not have and that the restore removed.
  returned: always
  type: list
  elements: str
seconds:
  description: Time spent loading the dump.
  returned: always
  type: float
tuning:
  description: The server settings held during the load, or why they were not.
  returned: always
  type: str
  sample: "SET GLOBAL innodb_flush_log_at_trx_commit=2 for the load"
"""

import contextlib
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._mysql import (
    SESSION_TUNING, WINDOW_TUNING, Client, MysqlError, compressor_argv, connection_argument_spec,
    mydumper_source_db, quote_ident, run_pipeline, run_tool, tree_bytes, window_statements)

#: Below this backup size (compressed: some 100 MiB of SQL) the untuned load costs seconds at most: the
#: skipped tuning is not worth a warning.
_WARN_UNTUNED_BYTES = 16 << 20

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"))


def _compression(path):
    with open(path, "rb") as handle:
        head = handle.read(4)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _load(client, src, database, threads):
    """Stream src (decompressed on the fly) into the client for one database; myloader for a folder."""
    if os.path.isdir(src):
        # myloader reads the login from --defaults-file (it has no --defaults-extra-file).
        run_tool([client.tool("myloader"), "--defaults-file=" + client.option_file, "--directory=" + src,
                  "--source-db=" + mydumper_source_db(src), "--database=" + database, "--overwrite-tables",
                  "--threads=%d" % threads], "myloader")
        return
    argv = client.argv("mysql", "--default-character-set=utf8mb4", "--init-command=" + SESSION_TUNING, database)
    decompress = compressor_argv(_compression(src), decompress=True)
    if decompress:
        run_pipeline([decompress + [src], argv])
    else:
        run_pipeline([argv], stdin_path=src)


@contextlib.contextmanager
def _restore_window(module, client, result):
    """Hold the server settings of WINDOW_TUNING while the body runs, then set them back."""
    if not module.params["tune_server"]:
        result["tuning"] = "not asked for (tune_server=false)"
        yield
        return
    apply_sql, revert_sql = window_statements(client.variables(*[name for name, _value in WINDOW_TUNING]))
    if apply_sql is None:
        result["tuning"] = "the server already runs with %s" % ", ".join("%s=%s" % t for t in WINDOW_TUNING)
        yield
        return
    try:
        client.query(apply_sql)
    except MysqlError as exc:
        result["tuning"] = "untuned: %s" % str(exc).split("ERROR", 1)[-1].strip()
        src = module.params["src"]
        if (tree_bytes(src) if os.path.isdir(src) else os.path.getsize(src)) >= _WARN_UNTUNED_BYTES:
            module.warn("the load of %s runs without %s: the login may not change server settings (%s). "
                        "Grant it SUPER, or expect a slower restore." % (src, apply_sql, result["tuning"]))
        yield
        return
    result["tuning"] = apply_sql + " for the load"
    try:
        yield
    finally:
        try:
            client.query(revert_sql)
        except MysqlError as exc:
            module.warn("could not set the server back after the load (%s): run %s" % (exc, revert_sql))


def _objects(client, schema):
    """Views, triggers, routines and events: what a table swap would not carry."""
    quoted = "'%s'" % schema.replace("'", "''")
    rows = client.query(
        "SELECT 'view', table_name FROM information_schema.views WHERE table_schema=%(s)s "
        "UNION ALL SELECT 'trigger', trigger_name FROM information_schema.triggers WHERE trigger_schema=%(s)s "
        "UNION ALL SELECT 'routine', routine_name FROM information_schema.routines WHERE routine_schema=%(s)s "
        "UNION ALL SELECT 'event', event_name FROM information_schema.events WHERE event_schema=%(s)s"
        % {"s": quoted})
    return ["%s %s" % (kind, name) for kind, name in rows]


def _differences(expected, actual):
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append("%s missing" % table)
        elif table not in expected:
            problems.append("%s not in the backup" % table)
        elif expected[table] != actual[table]:
            problems.append("%s checksum %s, expected %s" % (table, actual[table], expected[table]))
    return problems


def _swap(client, database, src, expected, threads):
    """Load into <db>__rw_new, check, then RENAME TABLE live ↔ new in one statement.

    Returns (removed tables, leftovers, checksums): leftovers are the objects a table swap cannot
    carry (removed and checksums are None then, and the live database was not touched).
    """
    new, old = database + "__rw_new", database + "__rw_old"
    q_db, q_new, q_old = quote_ident(database), quote_ident(new), quote_ident(old)
    charset = client.query("SELECT default_character_set_name, default_collation_name FROM "
                           "information_schema.schemata WHERE schema_name='%s'" % database)[0]
    client.query("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s; "
                 "CREATE DATABASE %s CHARACTER SET %s COLLATE %s; CREATE DATABASE %s"
                 % (q_new, q_old, q_new, charset[0], charset[1], q_old))
    try:
        _load(client, src, new, threads)
        leftovers = _objects(client, new)
        if leftovers:
            return None, leftovers, None
        restored = client.checksums(new)
        if expected is not None:
            problems = _differences(expected, restored)
            if problems:
                raise MysqlError("the restored data does not match the backup's manifest (%s); the live "
                                 "database was not touched" % "; ".join(problems))
        live = client.tables(database)
        renames = ["%s.%s TO %s.%s" % (q_db, quote_ident(t), q_old, quote_ident(t)) for t in live]
        renames += ["%s.%s TO %s.%s" % (q_new, quote_ident(t), q_db, quote_ident(t)) for t in sorted(restored)]
        if renames:
            client.query("RENAME TABLE " + ", ".join(renames))
        # RENAME TABLE moves the checked tables as they are: their checksums are the live ones now.
        return sorted(set(live) - set(restored)), [], restored
    finally:
        client.query("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s" % (q_new, q_old))


def _replace(client, database, src, threads):
    q_db = quote_ident(database)
    live = client.tables(database)
    client.query("DROP DATABASE %s; CREATE DATABASE %s" % (q_db, q_db))
    _load(client, src, database, threads)
    return sorted(set(live) - set(client.tables(database)))


def main():
    argument_spec = dict(
        database=dict(type="str", required=True),
        src=dict(type="path", required=True),
        expected_tables=dict(type="dict"),
        method=dict(type="str", default="auto", choices=["auto", "swap", "replace"]),
        compare_first=dict(type="bool", default=True),
        tune_server=dict(type="bool", default=True),
        threads=dict(type="int"),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    database, src, expected = p["database"], p["src"], p["expected_tables"]
    result = dict(changed=False, differs=False, restored=False, method="none", removed_tables=[], seconds=0.0,
                  tuning="no load")
    threads = p["threads"] or max(1, min(8, os.cpu_count() or 1))
    try:
        quote_ident(database)
        quote_ident(database + "__rw_new")
        with Client(p) as client:
            if database not in client.databases():
                module.fail_json(msg="database %r does not exist; create it (empty) first, or check the login"
                                 % database, **result)
            compare = p["compare_first"] or module.check_mode
            live = client.checksums(database) if compare else {}
            if expected is not None:
                expected = {k: (None if v is None else int(v)) for k, v in expected.items()}
                if compare and live == expected:
                    module.exit_json(tables=live, **result)
            result.update(changed=True, differs=True)
            if module.check_mode:
                result["removed_tables"] = sorted(set(live) - set(expected or {})) if expected else []
                module.exit_json(**result)
            started = time.monotonic()
            leftovers, tables = [], None
            with _restore_window(module, client, result):
                if p["method"] in ("auto", "swap"):
                    removed, leftovers, tables = _swap(client, database, src, expected, threads)
                    if removed is not None:
                        result.update(method="swap", removed_tables=removed)
                    elif p["method"] == "swap":
                        module.fail_json(msg="method=swap cannot carry %s; use method=auto or replace"
                                         % ", ".join(leftovers), **result)
                if result["method"] == "none":
                    result.update(method="replace", removed_tables=_replace(client, database, src, threads))
            result["seconds"] = round(time.monotonic() - started, 3)
            result["tables"] = tables if tables is not None else client.checksums(database)
            result["restored"] = True
            if expected is not None and result["tables"] != expected:
                module.fail_json(msg="database %s after restore differs from the backup: %s"
                                 % (database, "; ".join(_differences(expected, result["tables"]))), **result)
    except (MysqlError, OSError) as exc:
        module.fail_json(msg="restoring %s from %s failed: %s" % (database, src, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
