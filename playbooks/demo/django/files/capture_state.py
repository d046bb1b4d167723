#!/usr/bin/env python3
"""Print the call-centre site's state as JSON, to compare before and after a rollback.

    capture_state.py [--db callcentre] [--app-root /srv/callcentre] > state.json

    {"tables":     {table: CHECKSUM TABLE value},
     "schema":     {table: SHOW CREATE TABLE, without AUTO_INCREMENT=n},
     "rows":       {table: [[column values as text] ordered by id]}   (the calls app's tables),
     "migrations": ["app.name", ...]                                  (django_migrations, sorted),
     "users":      [[id, username, password hash, email, flags, date_joined]] (auth_user without
                   last_login, which every sign-in rewrites),
     "release":    the release `current` points to}

Run it as root: it reads the database through the server's unix socket as root.
"""
import argparse
import json
import os
import re

import pymysql


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="callcentre")
    parser.add_argument("--app-root", default="/srv/callcentre")
    parser.add_argument("--socket", default="/run/mysqld/mysqld.sock")
    args = parser.parse_args()
    conn = pymysql.connect(unix_socket=args.socket, user="root", database=args.db, charset="utf8mb4")
    state = {"tables": {}, "schema": {}, "rows": {}}
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name", (args.db,))
        tables = [row[0] for row in cur.fetchall()]
        for table in tables:
            cur.execute("CHECKSUM TABLE `%s`" % table)
            state["tables"][table] = cur.fetchone()[1]
            cur.execute("SHOW CREATE TABLE `%s`" % table)
            state["schema"][table] = re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])
            if table.startswith("calls_"):
                cur.execute("SELECT * FROM `%s` ORDER BY 1" % table)
                state["rows"][table] = [[None if v is None else str(v) for v in row] for row in cur.fetchall()]
        cur.execute("SELECT CONCAT(app, '.', name) FROM django_migrations ORDER BY app, name")
        state["migrations"] = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT id, username, password, email, is_active, is_staff, is_superuser, date_joined "
                    "FROM auth_user ORDER BY id")
        state["users"] = [[str(v) for v in row] for row in cur.fetchall()]
    conn.close()
    state["release"] = os.path.basename(os.readlink(os.path.join(args.app_root, "current")))
    print(json.dumps(state, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
