#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysql_query_info
short_description: Run one read-only query on MySQL/MariaDB and return its rows
version_added: 0.1.0
description:
  - Runs a single C(SELECT), C(SHOW), C(WITH), C(DESCRIBE) or C(EXPLAIN) statement through the
    server's own client in a read-only session (C(SET SESSION TRANSACTION READ ONLY)) and returns
    the rows as dictionaries keyed by column name. Anything else is refused before connecting.
  - Made for what a rollback has to read, such as the applied migrations
    (C(SELECT app, name FROM django_migrations)) or the server's connection counters
    (C(SHOW GLOBAL STATUS)), without a Python MySQL driver on the managed host.
  - The login goes to a private option file (C(--defaults-extra-file)), never to a command line.
author: rewind developers (@rewind)
options:
  query:
    description:
      - The statement. One statement only; a trailing C(;) is allowed.
    type: str
    required: true
  database:
    description: Default database of the session.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - rewind.rollback.mysql_login
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Values are strings as the client prints them; SQL C(NULL) is returned as null (a string
    C('NULL') cannot be told from it).
  - A query that returns no rows returns no column names either.
seealso:
  - module: rewind.rollback.migration_plan
"""

EXAMPLES = r"""
- name: Read the migrations the database has applied
  rewind.rollback.mysql_query_info:
    database: callcentre
    query: SELECT app, name FROM django_migrations
    login_user: callcentre
    login_password: "{{ callcentre_db_password }}"
    login_unix_socket: /run/mysqld/mysqld.sock
  register: applied

- name: Plan the database side of the rollback from them
  rewind.rollback.migration_plan:
    current: /srv/callcentre/releases/r2
    target: /srv/callcentre/releases/r1
    applied: "{{ applied.rows }}"

- name: Read the connection counters
  rewind.rollback.mysql_query_info:
    query: SHOW GLOBAL STATUS WHERE Variable_name IN ('Aborted_connects', 'Threads_connected')
  register: status
"""

RETURN = r"""
rows:
  description: The rows, each a dictionary of column name to value.
  returned: always
  type: list
  elements: dict
  sample:
    - {app: calls, name: 0001_initial}
    - {app: calls, name: 0002_priority_tags}
columns:
  description: The column names in order; empty when no row was returned.
  returned: always
  type: list
  elements: str
  sample: [app, name]
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._mysql import Client, MysqlError, connection_argument_spec

_READ_ONLY = re.compile(r"^\s*(SELECT|SHOW|WITH|DESCRIBE|DESC|EXPLAIN)\b", re.IGNORECASE)
_ESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "0": "\0"}


def _statement(query):
    """The query without a trailing ';', or None when it is not one read-only statement."""
    text = query.strip().rstrip(";").strip()
    if not _READ_ONLY.match(text) or ";" in text:
        return None
    return text


def _value(field):
    """A field of the client's batch output: NULL is None, \\t \\n \\\\ \\0 are unescaped."""
    if field == "NULL":
        return None
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), field)


def _parse(text):
    lines = [line for line in text.split("\n") if line != ""]
    if not lines:
        return [], []
    columns = lines[0].split("\t")
    return columns, [dict(zip(columns, (_value(f) for f in line.split("\t")))) for line in lines[1:]]


def main():
    argument_spec = dict(
        query=dict(type="str", required=True),
        database=dict(type="str"),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    sql = _statement(p["query"])
    if sql is None:
        module.fail_json(msg=tagged(INPUT, "query must be one SELECT, SHOW, WITH, DESCRIBE or EXPLAIN statement "
                                           "(this module only reads); got: %s" % p["query"][:200]))
    try:
        with Client(p) as client:
            argv = client.argv("mysql", "--batch")
            if p["database"]:
                argv.append(p["database"])
            rc, out, err = module.run_command(argv, data="SET SESSION TRANSACTION READ ONLY;\n%s;" % sql)
    except MysqlError as exc:
        module.fail_json(msg=str(exc))
    if rc != 0:
        server = p["login_host"] or p["login_unix_socket"] or "the local server"
        module.fail_json(msg="the query failed on %s: %s" % (server, err.strip()), query=sql)
    columns, rows = _parse(out)
    module.exit_json(changed=False, rows=rows, columns=columns)


if __name__ == "__main__":
    main()
