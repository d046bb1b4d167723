#!/usr/bin/python3
"""Print the state of the rewind demo's WordPress site as one JSON document.

Tests run it before a deployment and after the rollback and compare the two.
Run it as root on the WordPress host:

    capture_state.py [--site-root /var/www/demo] [--db wordpress] [--table-prefix wp_]
                     [--cron-user www-data] [--defaults-file FILE]

{
  "tables":  {table: CHECKSUM TABLE value},             every base table of the database
  "schema":  {table: sha256 of SHOW CREATE TABLE},       AUTO_INCREMENT=n left out
  "options": {option_name: sha256 of option_value},      rows of PREFIXoptions, to tell
                                                         which rows differ (transients and
                                                         "cron" change when wp-cron runs)
  "tree":    {relative path: sha256 | "symlink:TARGET"}, regular files and symbolic links
  "modes":   {relative path: "owner:group:0644"},        every entry, "." is the root
  "crontab": text of `crontab -l -u CRON_USER`, null when there is none
}

The database is read with the mysql client: as root through the unix socket by default
(MariaDB's root@localhost uses unix_socket), or with the credentials of an option file
(--defaults-file). Nothing is written anywhere.
"""

import argparse
import grp
import hashlib
import json
import os
import pwd
import re
import stat
import subprocess
import sys


def fail(message):
    sys.stderr.write("capture_state.py: %s\n" % message)
    sys.exit(1)


def mysql(args, query):
    command = ["mysql"]
    if args.defaults_file:
        command.append("--defaults-extra-file=" + args.defaults_file)
    command += ["--batch", "--skip-column-names", "--database", args.db, "--execute", query]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail("mysql failed on %r: %s" % (query, result.stderr.strip()))
    return [line.split("\t") for line in result.stdout.splitlines()]


def quote(name):
    return "`" + name.replace("`", "``") + "`"


def database(args):
    tables = sorted(row[0] for row in mysql(args, "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'"))
    checksums, schema = {}, {}
    if tables:
        for row in mysql(args, "CHECKSUM TABLE " + ", ".join(quote(t) for t in tables)):
            # "db.table<TAB>checksum"; NULL when the table cannot be read
            checksums[row[0].split(".", 1)[1]] = None if row[1] == "NULL" else int(row[1])
        for table in tables:
            rows = mysql(args, "SHOW CREATE TABLE " + quote(table))
            create = rows[0][1] if rows and len(rows[0]) > 1 else ""
            # batch output escapes newlines as \n: hashed as printed
            create = re.sub(r" AUTO_INCREMENT=\d+", "", create)
            schema[table] = hashlib.sha256(create.encode()).hexdigest()
    options = {}
    if args.table_prefix + "options" in tables:
        query = "SELECT option_name, SHA2(option_value, 256) FROM " + quote(args.table_prefix + "options")
        options = {row[0]: row[1] for row in mysql(args, query)}
    return checksums, schema, options


def owner(uid, gid):
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return user + ":" + group


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files(root):
    tree, modes = {}, {}

    def record(path):
        st = os.lstat(path)
        rel = os.path.relpath(path, root)
        modes[rel] = "%s:%04o" % (owner(st.st_uid, st.st_gid), stat.S_IMODE(st.st_mode))
        if stat.S_ISLNK(st.st_mode):
            tree[rel] = "symlink:" + os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            tree[rel] = sha256(path)

    record(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + sorted(filenames):
            record(os.path.join(dirpath, name))
    return tree, modes


def crontab(user):
    result = subprocess.run(["crontab", "-l", "-u", user], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if "no crontab" in result.stderr:
            return None
        fail("crontab -l -u %s failed: %s" % (user, result.stderr.strip()))
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description="Print the demo WordPress site's state as JSON.")
    parser.add_argument("--site-root", default="/var/www/demo")
    parser.add_argument("--db", default="wordpress")
    parser.add_argument("--table-prefix", default="wp_")
    parser.add_argument("--cron-user", default="www-data")
    parser.add_argument("--defaults-file", help="mysql option file with the credentials (default: root via unix_socket)")
    args = parser.parse_args()

    root = os.path.abspath(args.site_root)
    if not os.path.isdir(root):
        fail("%s is not a directory" % root)
    tables, schema, options = database(args)
    tree, modes = files(root)
    state = {"tables": tables, "schema": schema, "options": options, "tree": tree, "modes": modes, "crontab": crontab(args.cron_user)}
    json.dump(state, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
