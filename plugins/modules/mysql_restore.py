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
author: rewind developers (@rewind)
options:
  database:
    description: The live database.
    type: str
    required: true
  src:
    description: The dump file (C(.sql), C(.sql.gz) or C(.sql.zst)); compression is detected from its first bytes.
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
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._mysql import (
    Client, MysqlError, compressor_argv, connection_argument_spec, quote_ident, run_pipeline)

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"))


def _compression(path):
    with open(path, "rb") as handle:
        head = handle.read(4)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _load(client, src, database):
    """Stream src (decompressed on the fly) into the client for one database."""
    argv = client.argv("mysql", "--default-character-set=utf8mb4", database)
    decompress = compressor_argv(_compression(src), decompress=True)
    if decompress:
        run_pipeline([decompress + [src], argv])
    else:
        run_pipeline([argv], stdin_path=src)


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


def _swap(client, database, src, expected):
    """Load into <db>__rw_new, check, then RENAME TABLE live ↔ new in one statement."""
    new, old = database + "__rw_new", database + "__rw_old"
    q_db, q_new, q_old = quote_ident(database), quote_ident(new), quote_ident(old)
    charset = client.query("SELECT default_character_set_name, default_collation_name FROM "
                           "information_schema.schemata WHERE schema_name='%s'" % database)[0]
    client.query("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s; "
                 "CREATE DATABASE %s CHARACTER SET %s COLLATE %s; CREATE DATABASE %s"
                 % (q_new, q_old, q_new, charset[0], charset[1], q_old))
    try:
        _load(client, src, new)
        leftovers = _objects(client, new)
        if leftovers:
            return None, leftovers
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
        return sorted(set(live) - set(restored)), []
    finally:
        client.query("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s" % (q_new, q_old))


def _replace(client, database, src):
    q_db = quote_ident(database)
    live = client.tables(database)
    client.query("DROP DATABASE %s; CREATE DATABASE %s" % (q_db, q_db))
    _load(client, src, database)
    return sorted(set(live) - set(client.tables(database)))


def main():
    argument_spec = dict(
        database=dict(type="str", required=True),
        src=dict(type="path", required=True),
        expected_tables=dict(type="dict"),
        method=dict(type="str", default="auto", choices=["auto", "swap", "replace"]),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    database, src, expected = p["database"], p["src"], p["expected_tables"]
    result = dict(changed=False, differs=False, restored=False, method="none", removed_tables=[], seconds=0.0)
    try:
        quote_ident(database)
        quote_ident(database + "__rw_new")
        with Client(p) as client:
            if database not in client.databases():
                module.fail_json(msg="database %r does not exist; create it (empty) first, or check the login"
                                 % database, **result)
            live = client.checksums(database)
            if expected is not None:
                expected = {k: (None if v is None else int(v)) for k, v in expected.items()}
                if live == expected:
                    module.exit_json(tables=live, **result)
            result.update(changed=True, differs=True)
            if module.check_mode:
                result["removed_tables"] = sorted(set(live) - set(expected or {})) if expected else []
                module.exit_json(**result)
            started = time.monotonic()
            leftovers = []
            if p["method"] in ("auto", "swap"):
                removed, leftovers = _swap(client, database, src, expected)
                if removed is not None:
                    result.update(method="swap", removed_tables=removed)
                elif p["method"] == "swap":
                    module.fail_json(msg="method=swap cannot carry %s; use method=auto or replace"
                                     % ", ".join(leftovers), **result)
            if result["method"] == "none":
                result.update(method="replace", removed_tables=_replace(client, database, src))
            result["seconds"] = round(time.monotonic() - started, 3)
            result["tables"] = client.checksums(database)
            result["restored"] = True
            if expected is not None and result["tables"] != expected:
                module.fail_json(msg="database %s after restore differs from the backup: %s"
                                 % (database, "; ".join(_differences(expected, result["tables"]))), **result)
    except (MysqlError, OSError) as exc:
        module.fail_json(msg="restoring %s from %s failed: %s" % (database, src, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
