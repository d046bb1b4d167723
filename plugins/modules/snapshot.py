#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: snapshot
short_description: Save what is live now (database, file tree, config) as a backup set with a manifest
version_added: 0.1.0
description:
  - Writes a backup set C(<root>/<id>/) with C(manifest.json) listing each file with its kind, format,
    sha256 and size. The same module takes the pre-deployment backup (O(label=pre-deploy), from
    C(playbooks/prepare.yml)) and the pre-rollback snapshot (O(label=pre-rollback)) that makes
    every rollback undoable and loses nothing written since the deployment.
  - The database is dumped with C(mariadb-dump --single-transaction) streamed through zstd or gzip.
    CHECKSUM TABLE of every table is taken before and after the dump; when both agree they are
    recorded so a restore can prove it is exact.
  - With O(db_method=physical) or V(both), C(mariadb-backup --backup) copies the server's data files
    into C(db.physical/) and C(--prepare) applies the redo log right away, so a restore is a plain
    copy that needs no preparing (M(rewind.rollback.mysql_physical_restore)); the manifest records
    the server version, the size and the tree digest of that folder, and the databases it holds.
  - With O(db_method=move) nothing is dumped; the manifest reserves C(<datadir>.rewind-<id>), where
    M(rewind.rollback.mysql_physical_restore) moves the live data directory by rename when it
    restores a physical backup. That moved directory is the snapshot, and bringing it back is a
    rename too, exact by construction; so no checksums are read (they would read the whole
    database while the site is down).
  - The file tree is archived with GNU tar streamed through zstd, and its tree digest recorded.
    With O(files_method=move) nothing is copied; the manifest reserves the path next to the live
    tree where M(rewind.rollback.tree_restore) moves the live tree by rename (instant, same
    filesystem), which then is the snapshot.
  - Config files are bundled by absolute path (leading C(/) stripped) together with the
    crontabs of O(crontab_users).
  - Credentials go to a private option file, never to a command line.
author: rewind developers (@rewind)
options:
  root:
    description: Backup root; the set is written to C(<root>/<id>/).
    type: path
    required: true
  id:
    description: Set id. Default C(<UTC time>-<label>), e.g. C(20261124T024500Z-pre-deploy).
    type: str
  label:
    description: What this set is for. Only C(pre-deploy) sets are chosen for a rollback by default.
    type: str
    choices: [pre-deploy, pre-rollback, manual]
    default: pre-deploy
  tier:
    description: Tier recorded in the manifest.
    type: str
    required: true
  app:
    description: Application name recorded in the manifest.
    type: str
    required: true
  release:
    description: The release that is live now, recorded in the manifest.
    type: str
  parts:
    description: Which parts to save.
    type: list
    elements: str
    choices: [db, files, config]
    default: [db, files, config]
  database:
    description: Database to dump (part C(db)).
    type: str
  db_method:
    description:
      - How to save the database (part C(db)).
      - V(logical) dumps it. V(physical) takes a prepared C(mariadb-backup) copy of the whole server
        (it needs the server on this host). V(both) takes the dump and then the physical copy; when
        the physical copy cannot be taken (no C(mariadb-backup), missing privileges, a remote server)
        or would not be restored (the server holds other databases too, which a physical restore
        would put back in time as well) the set keeps the dump alone and a warning says why.
      - V(move) is for the pre-rollback snapshot of a physical restore, see above.
    type: str
    choices: [logical, physical, both, move]
    default: logical
  backup_user:
    description:
      - Login of C(mariadb-backup), which needs C(RELOAD), C(PROCESS), C(LOCK TABLES) and
        C(BINLOG MONITOR) on C(*.*), privileges a site's own user should not have. V(root) with no
        password logs in over the unix socket as the operating-system root (Debian and Ubuntu's default).
      - Unset uses O(login_user) and O(login_password).
    type: str
  backup_password:
    description: Password of O(backup_user); goes to the private option file only.
    type: str
  datadir:
    description: The server's data directory, for O(db_method=move). Default what the server reports (C(@@datadir)).
    type: path
  files_root:
    description: Live file tree (part C(files)).
    type: path
  files_method:
    description:
      - C(archive) writes C(files.tar.zst). C(move) reserves C(<files_root>.rewind-<id>) for the
        live tree, which the restore moves there by rename.
    type: str
    choices: [archive, move]
    default: archive
  files_subpaths:
    description:
      - With O(files_method=move), the only paths of the tree the restore replaces (a plugin, a theme);
        recorded so that undo swaps back just those.
    type: list
    elements: str
    default: []
  files_preserve:
    description: With O(files_method=move), the paths the restore keeps from the live tree; recorded for undo.
    type: list
    elements: str
    default: []
  config_files:
    description: Absolute paths of config files to bundle (part C(config)). Missing files are recorded as absent.
    type: list
    elements: path
    default: []
  crontab_users:
    description: Users whose crontab goes into the config bundle.
    type: list
    elements: str
    default: []
  compression:
    description: Compression for the dump and archives.
    type: str
    choices: [zstd, gzip]
    default: zstd
  mode:
    description: Mode of the set folder; files inside are 0600.
    type: raw
    default: "0700"
extends_documentation_fragment:
  - rewind.rollback.mysql_login
attributes:
  check_mode:
    support: full
    details: Reports the set it would write and writes nothing.
  diff_mode:
    support: none
notes:
  - Write-heavy sites should be in maintenance mode while the snapshot runs (the rollback
    playbooks do that), so nothing is written between the snapshot and the restore.
"""

EXAMPLES = r"""
- name: Take the pre-deployment backup
  rewind.rollback.snapshot:
    root: /var/backups/rewind/demo
    label: pre-deploy
    tier: wordpress
    app: demo
    release: r1
    database: wordpress
    login_user: wordpress
    login_password: "{{ wordpress_db_password }}"
    files_root: /var/www/demo
    config_files:
      - /var/www/demo/wp-config.php
      - /var/www/demo/.htaccess
    crontab_users: [www-data]
  no_log: false

- name: Take the pre-deployment backup, with a prepared physical copy for a fast restore
  rewind.rollback.snapshot:
    root: /var/backups/rewind/demo
    tier: wordpress
    app: demo
    database: wordpress
    db_method: both
    login_user: wordpress
    login_password: "{{ wordpress_db_password }}"
    backup_user: root
    files_root: /var/www/demo

- name: Snapshot what is live before restoring over it
  rewind.rollback.snapshot:
    root: /var/backups/rewind/demo/snapshots
    label: pre-rollback
    tier: wordpress
    app: demo
    database: wordpress
    login_unix_socket: /run/mysqld/mysqld.sock
    files_root: /var/www/demo
    files_method: move
"""

RETURN = r"""
id:
  description: The set id.
  returned: always
  type: str
  sample: 20261124T024500Z-pre-deploy
path:
  description: The set folder.
  returned: always
  type: str
  sample: /var/backups/rewind/demo/20261124T024500Z-pre-deploy
manifest:
  description: The manifest written (in check mode, the one that would be written, without hashes).
  returned: always
  type: dict
seconds:
  description: Time each part took, by manifest path (C(db.sql.zst), C(db.physical), C(files.tar.zst) …).
  returned: always
  type: dict
  sample: {db.sql.zst: 41.2, db.physical: 7.9, files.tar.zst: 12.4}
"""

import datetime
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import digest_dir
from ansible_collections.rewind.rollback.plugins.module_utils._mysql import (
    SYSTEM_SCHEMAS, Client, MysqlError, compressor_argv, connection_argument_spec, foreign_schemas, run_pipeline,
    run_tool, schemas_in)

_EXT = {"zstd": ".zst", "gzip": ".gz"}


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _item(set_dir, name, **meta):
    path = os.path.join(set_dir, name)
    meta.update(path=name, sha256=_sha256_file(path), size=os.path.getsize(path))
    return meta


class _PhysicalUnavailable(Exception):
    """The physical copy cannot be taken here; with db_method=both the dump alone is kept."""


def _dump(client, set_dir, database, compression):
    name = "db.sql" + _EXT[compression]
    run_pipeline([
        client.argv("mysqldump", "--single-transaction", "--quick", "--routines", "--triggers",
                    "--events", "--hex-blob", "--default-character-set=utf8mb4", database),
        compressor_argv(compression),
    ], stdout_path=os.path.join(set_dir, name))
    return _item(set_dir, name, kind="db", format="mysql-logical", compression=compression, database=database)


def _physical(params, set_dir, database, version):
    """mariadb-backup --backup, then --prepare at once: the restore is then a plain copy.

    With db_method=both, a server that holds other databases gets no physical copy: restoring it
    would put those back in time too, so mysql_physical_restore would refuse it anyway.
    """
    if params["login_host"] not in (None, "", "localhost", "127.0.0.1", "::1"):
        raise _PhysicalUnavailable("the server is at %s: mariadb-backup reads the data files, so it runs on "
                                   "the database host itself" % params["login_host"])
    name = "db.physical"
    target = os.path.join(set_dir, name)
    login = dict(params)
    if params["backup_user"]:
        login.update(login_user=params["backup_user"], login_password=params["backup_password"])
    with Client(login) as admin:
        try:
            tool = admin.tool("mariadb-backup")
            others = foreign_schemas(sorted(admin.databases() - SYSTEM_SCHEMAS), database)
        except MysqlError as exc:
            raise _PhysicalUnavailable(str(exc))
        if others and params["db_method"] == "both":
            raise _PhysicalUnavailable("the server holds other databases too (%s), which a physical restore would "
                                       "put back in time as well; db_method=physical takes the copy anyway"
                                       % ", ".join(others))
        try:
            run_tool(admin.argv("mariadb-backup", "--backup", "--target-dir=" + target,
                                "--parallel=%d" % max(1, min(4, os.cpu_count() or 1))), "mariadb-backup --backup")
            run_tool([tool, "--prepare", "--target-dir=" + target], "mariadb-backup --prepare")
        except MysqlError as exc:
            shutil.rmtree(target, ignore_errors=True)
            if "privilege" in str(exc) or "Access denied" in str(exc):
                raise _PhysicalUnavailable("%s (as %s; set backup_user to a login with RELOAD, PROCESS, LOCK "
                                           "TABLES and BINLOG MONITOR, e.g. root over the unix socket)"
                                           % (exc, login.get("login_user") or "the default user"))
            raise
    digest = digest_dir(target)
    return dict(kind="db", format="mysql-physical", path=name, sha256=digest["tree_sha256"], size=digest["bytes"],
                database=database, databases=schemas_in(target), server_version=version, prepared=True)


def _db_items(module, set_dir, set_id, compression, timings):
    """The manifest items of the database: a dump, a prepared physical copy, or a reserved datadir path.

    CHECKSUM TABLE is read before the first copy and after each one; a copy whose checksums before
    and after agree records them (its restore can then be proven exact).
    """
    p = module.params
    database, method = p["database"], p["db_method"]
    items = []
    with Client(p) as client:
        if database not in client.databases():
            module.fail_json(msg="database %r does not exist on this server; check database and the login options"
                             % database)
        server = client.variables("version", "datadir")
        if method == "move":
            datadir = os.path.normpath(p["datadir"] or server["datadir"])
            return [dict(kind="db", format="dir", path=datadir + ".rewind-" + set_id, moved_by="mysql_physical_restore",
                         database=database, datadir=datadir, server_version=server["version"], tables=None)]
        marks = [client.checksums(database)]
        if method in ("logical", "both"):
            started = time.monotonic()
            items.append(_dump(client, set_dir, database, compression))
            timings[items[-1]["path"]] = round(time.monotonic() - started, 3)
            marks.append(client.checksums(database))
        if method in ("physical", "both"):
            started = time.monotonic()
            try:
                items.append(_physical(p, set_dir, database, server["version"]))
                timings[items[-1]["path"]] = round(time.monotonic() - started, 3)
                marks.append(client.checksums(database))
            except _PhysicalUnavailable as exc:
                if method == "physical":
                    raise MysqlError("no physical backup of %s: %s" % (database, exc))
                module.warn("no physical backup of %s, only the dump: %s. A rollback from this set uses the "
                            "slower logical restore." % (database, exc))
    for number, item in enumerate(items):
        item["tables"] = marks[number] if marks[number] == marks[number + 1] else None
        if item["tables"] is None:
            module.warn("database %s was written during the %s: table checksums not recorded, so a restore "
                        "from %s cannot be proven exact" % (database, "dump" if item["format"] == "mysql-logical"
                                                            else "physical backup", item["path"]))
    return items


def _archive_tree(set_dir, root, compression):
    name = "files.tar" + _EXT[compression]
    digest = digest_dir(root)
    run_pipeline([["tar", "-C", root, "--numeric-owner", "-cf", "-", "."], compressor_argv(compression)],
                 stdout_path=os.path.join(set_dir, name))
    return _item(set_dir, name, kind="files", format="tar", compression=compression, root=root,
                 tree_sha256=digest["tree_sha256"], entries=digest["entries"])


def _crontab(user):
    proc = subprocess.run(["crontab", "-l", "-u", user], capture_output=True)
    if proc.returncode == 0:
        return proc.stdout
    if b"no crontab" in proc.stderr:
        return None
    raise RuntimeError("crontab -l -u %s failed: %s" % (user, proc.stderr.decode(errors="replace").strip()))


def _add_bytes(tar, name, data, mode=0o600):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _bundle_config(set_dir, paths, users, compression):
    """config.tar.<ext>: files by absolute path (no leading /), crontabs as crontab/<user>."""
    name = "config.tar" + _EXT[compression]
    raw = os.path.join(set_dir, "config.tar")
    present, absent, crontabs = [], [], {}
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            if os.path.lexists(path):
                tar.add(path, arcname=path.lstrip("/"), recursive=True)
                present.append(path)
            else:
                absent.append(path)
        for user in users:
            text = _crontab(user)
            crontabs[user] = text is not None
            if text is not None:
                _add_bytes(tar, "crontab/%s" % user, text)
    run_pipeline([compressor_argv(compression)], stdin_path=raw, stdout_path=os.path.join(set_dir, name))
    os.unlink(raw)
    return _item(set_dir, name, kind="config", format="tar", compression=compression,
                 files=present, absent=absent, crontabs=crontabs)


def main():
    argument_spec = dict(
        root=dict(type="path", required=True),
        id=dict(type="str"),
        label=dict(type="str", default="pre-deploy", choices=["pre-deploy", "pre-rollback", "manual"]),
        tier=dict(type="str", required=True),
        app=dict(type="str", required=True),
        release=dict(type="str"),
        parts=dict(type="list", elements="str", default=["db", "files", "config"],
                   choices=["db", "files", "config"]),
        database=dict(type="str"),
        db_method=dict(type="str", default="logical", choices=["logical", "physical", "both", "move"]),
        backup_user=dict(type="str"),
        backup_password=dict(type="str", no_log=True),
        datadir=dict(type="path"),
        files_root=dict(type="path"),
        files_method=dict(type="str", default="archive", choices=["archive", "move"]),
        files_subpaths=dict(type="list", elements="str", default=[]),
        files_preserve=dict(type="list", elements="str", default=[]),
        config_files=dict(type="list", elements="path", default=[]),
        crontab_users=dict(type="list", elements="str", default=[]),
        compression=dict(type="str", default="zstd", choices=["zstd", "gzip"]),
        mode=dict(type="raw", default="0700"),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    parts = p["parts"]
    if "db" in parts and not p["database"]:
        module.fail_json(msg="parts includes db but no database is given")
    if "files" in parts:
        if not p["files_root"] or not os.path.isdir(p["files_root"]):
            module.fail_json(msg="files_root %r is not a directory; nothing to snapshot" % p["files_root"])

    now = datetime.datetime.now(datetime.timezone.utc)
    set_id = p["id"] or "%s-%s" % (now.strftime("%Y%m%dT%H%M%SZ"), p["label"])
    set_dir = os.path.join(p["root"], set_id)
    manifest = dict(rewind_manifest=1, id=set_id, label=p["label"], tier=p["tier"], app=p["app"],
                    host=socket.gethostname(), created_at=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    release=p["release"], files=[])
    timings = {}
    result = dict(changed=True, id=set_id, path=set_dir, manifest=manifest, seconds=timings)
    if os.path.exists(os.path.join(set_dir, "manifest.json")):
        module.fail_json(msg="backup set %s already exists; pass another id" % set_dir, **result)
    if module.check_mode:
        module.exit_json(**result)

    try:
        os.makedirs(p["root"], mode=0o700, exist_ok=True)
        os.makedirs(set_dir, exist_ok=True)
        os.chmod(set_dir, int(str(p["mode"]), 8))
        if "db" in parts:
            manifest["files"].extend(_db_items(module, set_dir, set_id, p["compression"], timings))
        if "files" in parts and p["files_method"] == "archive":
            started = time.monotonic()
            manifest["files"].append(_archive_tree(set_dir, p["files_root"], p["compression"]))
            timings[manifest["files"][-1]["path"]] = round(time.monotonic() - started, 3)
        elif "files" in parts:
            manifest["files"].append(dict(
                kind="files", format="dir", root=p["files_root"],
                path=os.path.normpath(p["files_root"]) + ".rewind-" + set_id, moved_by="tree_restore",
                subpaths=p["files_subpaths"], preserve=p["files_preserve"]))
        if "config" in parts:
            manifest["files"].append(_bundle_config(set_dir, p["config_files"], p["crontab_users"],
                                                    p["compression"]))
    except (MysqlError, OSError, RuntimeError) as exc:
        module.fail_json(msg="snapshot into %s failed, nothing was restored: %s" % (set_dir, exc), **result)

    tmp = os.path.join(set_dir, ".manifest.json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, os.path.join(set_dir, "manifest.json"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
