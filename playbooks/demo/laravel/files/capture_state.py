#!/usr/bin/env python3
"""Print the state of the demo campaign system's app host as JSON, to compare before and after.

    capture_state.py [--root /srv/campaigns]          the state (below)
    capture_state.py [--root …] --sql 'SELECT …'      rows of one query, as JSON lists

The database is read with the mariadb client over TCP with the credentials of the shared .env
(through a private option file, never the command line). Run it as root on the app host.

    {"current":    release current points to,
     "tables":     {table: CHECKSUM TABLE value},
     "schema":     {table: sha256 of SHOW CREATE TABLE without AUTO_INCREMENT=n},
     "migrations": [[migration, batch], …] (the migrations table, by id),
     "env":        sha256 of shared/.env,
     "build":      {path under public/build: sha256} of the live release,
     "caches":     file names in the live release's bootstrap/cache,
     "views":      the source of each compiled Blade view in shared/storage/framework/views (from
                   the /**PATH … ENDPATH**/ comment Blade appends; the path names the release),
     "maintenance": whether storage/framework/down exists,
     "workers":    {unit: {"active", "pid", "release"}} (release: from /proc/<pid>/cwd),
     "pm2":        {app: {"status", "pid"}},
     "cache_keys": number of keys in the application cache (redis database 1)}
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

UNITS = ["campaigns-queue@1"]
PM2_USER = "notifier"


def sha256_file(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def read_env(path):
    env = {}
    with open(path) as handle:
        for line in handle:
            match = re.match(r"^([A-Z0-9_]+)=(.*)$", line.strip())
            if match:
                env[match.group(1)] = match.group(2).strip().strip('"')
    return env


class Database:
    def __init__(self, env):
        self.env = env

    def __enter__(self):
        fd, self.option_file = tempfile.mkstemp(prefix="capture-", suffix=".cnf")
        with os.fdopen(fd, "w") as handle:
            handle.write("[client]\nhost=%s\nport=%s\nuser=%s\npassword=\"%s\"\n" % (
                self.env["DB_HOST"], self.env.get("DB_PORT", "3306"), self.env["DB_USERNAME"],
                self.env["DB_PASSWORD"].replace("\\", "\\\\").replace('"', '\\"')))
        return self

    def __exit__(self, *exc):
        os.unlink(self.option_file)

    def query(self, sql):
        proc = subprocess.run(["mariadb", "--defaults-extra-file=" + self.option_file, "--batch",
                               "--skip-column-names", "--raw", self.env["DB_DATABASE"]],
                              input=sql, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit("mariadb failed: %s" % proc.stderr.strip())
        return [line.split("\t") for line in proc.stdout.splitlines()]


def database_state(db):
    tables = [row[0] for row in db.query("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")]
    state = {"tables": {}, "schema": {}, "migrations": []}
    if tables:
        for name, value in db.query("CHECKSUM TABLE %s" % ", ".join("`%s`" % t for t in tables)):
            state["tables"][name.split(".", 1)[1]] = value
        for table in tables:
            create = db.query("SHOW CREATE TABLE `%s`" % table)[0][1]
            create = re.sub(r" AUTO_INCREMENT=\d+", "", create)
            state["schema"][table] = hashlib.sha256(create.encode()).hexdigest()
    if "migrations" in tables:
        state["migrations"] = [[name, int(batch)] for name, batch in
                               db.query("SELECT migration, batch FROM migrations ORDER BY id")]
    return state


def systemd(unit):
    show = subprocess.run(["systemctl", "show", "-p", "ActiveState,MainPID", unit], capture_output=True, text=True)
    props = dict(line.split("=", 1) for line in show.stdout.splitlines() if "=" in line)
    pid = int(props.get("MainPID", "0"))
    release = None
    if pid:
        try:
            release = os.path.basename(os.readlink("/proc/%d/cwd" % pid))
        except OSError:
            pass
    return {"active": props.get("ActiveState"), "pid": pid, "release": release}


def pm2():
    proc = subprocess.run(["runuser", "-u", PM2_USER, "--", "pm2", "jlist"], capture_output=True, text=True)
    if proc.returncode != 0:
        return {}
    apps = json.loads(proc.stdout.strip().splitlines()[-1])
    return {app["name"]: {"status": app["pm2_env"]["status"], "pid": app["pid"]} for app in apps}


def compiled_views(folder):
    sources = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".php"):
            with open(os.path.join(folder, name)) as handle:
                match = re.search(r"/\*\*PATH (.*?) ENDPATH\*\*/", handle.read())
            sources.append(match.group(1) if match else name)
    return sorted(sources)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="/srv/campaigns")
    parser.add_argument("--sql")
    args = parser.parse_args()
    env_path = os.path.join(args.root, "shared", ".env")
    with Database(read_env(env_path)) as db:
        if args.sql:
            json.dump(db.query(args.sql), sys.stdout)
            return
        state = database_state(db)
    live = os.path.realpath(os.path.join(args.root, "current"))
    build = os.path.join(live, "public", "build")
    state.update(
        current=os.path.basename(live),
        env=sha256_file(env_path),
        build={os.path.relpath(os.path.join(parent, name), build): sha256_file(os.path.join(parent, name))
               for parent, _, names in os.walk(build) for name in names},
        caches=sorted(os.listdir(os.path.join(live, "bootstrap", "cache"))),
        views=compiled_views(os.path.join(args.root, "shared", "storage", "framework", "views")),
        maintenance=os.path.exists(os.path.join(args.root, "shared", "storage", "framework", "down")),
        workers={unit: systemd(unit) for unit in UNITS},
        pm2=pm2(),
        cache_keys=int(subprocess.run(["redis-cli", "-n", "1", "DBSIZE"], capture_output=True,
                                      text=True).stdout.strip() or 0),
    )
    json.dump(state, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
