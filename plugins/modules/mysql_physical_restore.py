#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysql_physical_restore
short_description: Restore a MariaDB server from a prepared physical backup by swapping its data directory
version_added: 0.1.0
description:
  - Stops the server, moves its data directory aside by rename on the same filesystem (instant; the
    moved directory is the pre-rollback snapshot, so nothing written since the backup is lost), copies
    the prepared backup in with C(mariadb-backup --copy-back) (C(--move-back) with O(consume=true)),
    gives every file to the data directory's owner in one pass, starts the server, and compares
    CHECKSUM TABLE of every table of O(database) with the checksums the backup recorded.
  - A failure after the data directory was moved aside (copy, start, or checksums that do not match)
    puts the old data directory back and starts the server on it, so the server ends either restored
    and proven, or as it was.
  - O(src) may be a data directory that an earlier run moved aside; it is renamed back into place and
    nothing is copied. That is how a physical rollback is undone.
  - A physical backup holds the whole server, its users and grants included. The restore is refused
    when the server or the backup holds databases other than O(database) (unless O(whole_server=true)),
    when the backup was made by another flavor or major.minor version than the server runs, when it was
    not prepared, when the data directory cannot be moved by rename (a mount point) or its filesystem
    lacks the room for the copy, and when InnoDB keeps files outside the data directory.
  - When the live database already equals the backup (same tables, same checksums) nothing is done
    and the server is not touched.
  - With O(on_unusable=report), a backup that cannot be used for a reason an operator should hear of
    (version, verification, data directory, other databases, room) is also reported as a warning;
    one that is merely absent or not worth a restart (O(min_size_mb)) is not.
author: rewind developers (@rewind)
options:
  src:
    description:
      - A prepared C(mariadb-backup) folder; a rewind backup set folder, whose manifest's physical
        database item is used (and its recorded checksums, unless O(expected_tables) is given); or a
        data directory moved aside by an earlier run of this module.
    type: path
    required: true
  database:
    description:
      - The application's database. Its checksums decide whether there is anything to do and prove
        the result.
    type: str
    required: true
  expected_tables:
    description:
      - The C(table → checksum) map the backup recorded. Without it (and without one in the set's
        manifest) the restore always runs and cannot be proven.
    type: dict
  datadir:
    description: The server's data directory. Default what the running server reports (C(@@datadir)).
    type: path
  snapshot_to:
    description:
      - Where the live data directory is moved; on the same filesystem as O(datadir), and must not
        exist. Default C(<datadir>.rewind-<UTC time>).
    type: path
  service:
    description: The server's systemd unit.
    type: str
    default: mariadb
  consume:
    description:
      - Move the backup's files into place (C(--move-back)) instead of copying them. Faster, and the
        backup is gone afterwards. A data directory given as O(src) is always moved.
    type: bool
    default: false
  whole_server:
    description:
      - Allow the restore although the server or the backup holds other databases than O(database);
        they are all put back to the backup's time.
    type: bool
    default: false
  on_unusable:
    description:
      - What to do when the backup cannot be used here (see above). V(fail) fails with the reason.
        V(report) returns C(usable=false) and the C(reason) and changes nothing; a plan uses it to
        fall back to a logical restore.
    type: str
    choices: [fail, report]
    default: fail
  min_size_mb:
    description:
      - Report the backup unusable when O(database) is smaller than this in the backup. For a small
        database a logical restore is as fast and keeps the server running, while this module stops it.
        Not applied to a data directory given as O(src), which has no other way back.
    type: int
    default: 0
  compare_first:
    description:
      - Compare the live database with the expected checksums before anything else, and do nothing
        when they are equal.
      - V(false) skips that comparison in a real run (check mode always compares). It is for a caller
        that compared them moments ago, such as the plan of the same rollback; each comparison reads
        the whole database, seconds per GiB, and here the server is still serving.
    type: bool
    default: true
  verify:
    description:
      - Verify the physical item of a backup set against its manifest (tree digest and size, every
        file read once) before using it. A backup that fails is unusable (see O(on_unusable)).
      - V(false) is only safe when it was just verified, for example by the planning step of the
        same run; the checksums compared after the restore still prove the result.
    type: bool
    default: true
  parallel:
    description: Threads that copy files. Default the number of CPUs, at most 8.
    type: int
  start_timeout:
    description: Seconds to wait for the started server to accept connections.
    type: int
    default: 300
extends_documentation_fragment:
  - rewind.rollback.mysql_login
attributes:
  check_mode:
    support: full
    details: Checks the backup, the server and the data directory, compares the checksums, and reports whether a restore would run.
  diff_mode:
    support: none
notes:
  - Runs on the database host as root (it stops and starts the server and moves its files).
  - The server is stopped from the moment the data directory is moved aside until the copy is in
    place; the rest of the work (checks, checksums before) happens while it runs.
  - Binary logs in the data directory move aside with it; a primary with replicas needs its replicas
    re-seeded after a physical restore.
seealso:
  - module: rewind.rollback.snapshot
  - module: rewind.rollback.mysql_restore
"""

EXAMPLES = r"""
- name: Restore the server from the prepared physical backup of the chosen set
  rewind.rollback.mysql_physical_restore:
    src: /var/backups/rewind/demo/20261124T024500Z-pre-deploy
    database: wordpress
    snapshot_to: /var/lib/mysql.rewind-20261124T031500Z-pre-rollback
    login_user: wordpress
    login_password: "{{ wordpress_db_password }}"

- name: Would a physical restore work here, and is it needed? (plan)
  rewind.rollback.mysql_physical_restore:
    src: /var/backups/rewind/demo/20261124T024500Z-pre-deploy
    database: wordpress
    on_unusable: report
    min_size_mb: 32
    login_unix_socket: /run/mysqld/mysqld.sock
  check_mode: true
  register: physical

- name: Undo it by swapping the moved data directory back
  rewind.rollback.mysql_physical_restore:
    src: /var/lib/mysql.rewind-20261124T031500Z-pre-rollback
    database: wordpress
    snapshot_to: /var/lib/mysql.rewind-20261124T040000Z-undo
"""

RETURN = r"""
differs:
  description: Whether the live database differed from the backup (always true without expected checksums).
  returned: always
  type: bool
restored:
  description: Whether the data directory was replaced.
  returned: always
  type: bool
usable:
  description: Whether the backup can be restored on this server (see O(on_unusable)).
  returned: always
  type: bool
reason:
  description: Why it cannot, or null.
  returned: always
  type: str
  sample: "the physical backup was made by MariaDB 10.6.18 and this server is MariaDB 10.11.6: ..."
source:
  description: The folder restored from (the physical item of a backup set, or O(src)).
  returned: always
  type: str
method:
  description: C(copy-back), C(move-back), C(rename) (a data directory swapped back), or C(none).
  returned: always
  type: str
snapshot:
  description: Where the replaced data directory now is, or null when nothing was replaced.
  returned: always
  type: str
datadir:
  description: The server's data directory.
  returned: always
  type: str
server_version:
  description: Version of the server on this host.
  returned: always
  type: str
backup_version:
  description: Version of the server that made the backup.
  returned: always
  type: str
size:
  description: Bytes of O(database) in the backup.
  returned: always
  type: int
tables:
  description:
    - CHECKSUM TABLE of every table of O(database) when the module compared them (there were
      expected checksums, and the server is up).
    - A data directory renamed back into place has no expected checksums; it is the very directory
      the server stopped on, so it is not read.
  returned: when compared
  type: dict
removed_tables:
  description: Live tables of O(database) that the backup does not have (a restore removes them).
  returned: always
  type: list
  elements: str
timings:
  description: Seconds per step - C(stop), C(move_aside), C(put_in) (the copy, or the rename of a data directory), C(chown), C(start), C(checksums).
  returned: when restored
  type: dict
seconds:
  description: Time the server was stopped, from stop to accepting connections again.
  returned: always
  type: float
"""

import datetime
import errno
import json
import os
import shutil
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import verify_file
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._mysql import (
    CARRIED_FILES, Client, MysqlError, chown_tree, connection_argument_spec, foreign_schemas, physical_source,
    run_tool, schemas_in, tree_bytes, version_mismatch)

_SERVER_BINARIES = ("mariadbd", "mysqld")


class Unusable(Exception):
    """This backup cannot be restored on this server; the message says why and what to do.

    ``notable`` is False for the plain cases (there is no physical copy, or it is not worth a
    restart) that a plan falls back from without a warning.
    """

    def __init__(self, message, notable=True):
        super().__init__(message)
        self.notable = notable


def _source(src):
    """(folder, manifest item) of what to restore: a set's physical db item, or src itself."""
    manifest_path = os.path.join(src, "manifest.json")
    if not os.path.isfile(manifest_path):
        return src, {}
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    items = [item for item in manifest.get("files", []) if item.get("kind") == "db"]
    for item in items:
        if item.get("format") == "mysql-physical" or item.get("moved_by") == "mysql_physical_restore":
            path = item["path"]
            return (path if os.path.isabs(path) else os.path.join(src, path)), item
    raise Unusable("backup set %s has no physical backup of the database (it holds %s)"
                   % (src, ", ".join(i.get("format", "?") for i in items) or "no database backup"), notable=False)


def _server_binary_version(module):
    for name in _SERVER_BINARIES:
        path = module.get_bin_path(name, opt_dirs=["/usr/sbin", "/usr/libexec"])
        if path:
            rc, out, err = module.run_command([path, "--version"])
            if rc == 0:
                return out.strip()
    raise MysqlError("the server is not running and neither mariadbd nor mysqld was found to ask its version")


def _datadir_from_config(module):
    path = module.get_bin_path("my_print_defaults") or module.get_bin_path("mysql_print_defaults")
    if path:
        rc, out, _err = module.run_command([path, "--mysqld"])
        for line in out.splitlines() if rc == 0 else []:
            if line.startswith("--datadir="):
                return line.split("=", 1)[1]
    return None


def _live(module, client):
    """What the server says now: {up, version, datadir, innodb_dirs}."""
    try:
        found = client.variables("version", "datadir", "innodb_data_home_dir", "innodb_log_group_home_dir",
                                 "innodb_undo_directory")
    except MysqlError:
        return {"up": False, "version": _server_binary_version(module), "datadir": _datadir_from_config(module),
                "innodb_dirs": []}
    return {"up": True, "version": found["version"], "datadir": found["datadir"],
            "innodb_dirs": [found[k] for k in ("innodb_data_home_dir", "innodb_log_group_home_dir",
                                               "innodb_undo_directory")]}


def _check(p, folder, kind, datadir, snapshot_to, live, item):
    """Raise Unusable when the backup cannot replace this server's data directory; return its version."""
    if kind["type"] is None:
        raise Unusable("%s is neither a mariadb-backup folder (no xtrabackup_checkpoints) nor a data directory"
                       % folder)
    if p["verify"] and item.get("sha256"):
        verdict = verify_file(folder, item["sha256"], item.get("size"), "mysql-physical")
        if not verdict["ok"]:
            raise Unusable("%s failed verification: %s" % (folder, verdict["reason"]))
    if kind["type"] == "backup" and not kind["prepared"]:
        raise Unusable("%s was not prepared (backup_type %s): run mariadb-backup --prepare --target-dir=%s "
                       "once, then restore" % (folder, kind["backup_type"] or "unknown", folder))
    version = item.get("server_version") or kind["server_version"]
    if not version:
        raise Unusable("%s does not say which server version made it, so it cannot be checked against this "
                       "server (%s)" % (folder, live["version"]))
    problem = version_mismatch(version, live["version"])
    if problem:
        raise Unusable("%s: %s. Restore the logical dump instead." % (folder, problem))
    if not os.path.isdir(os.path.join(folder, p["database"])):
        raise Unusable("%s holds no database %s" % (folder, p["database"]))
    if not os.path.isdir(datadir):
        raise Unusable("data directory %s does not exist; pass datadir" % datadir)
    outside = [d for d in live["innodb_dirs"] if d not in (None, "", ".", "./", "NULL")
               and os.path.normpath(os.path.join(datadir, d)) != datadir]
    if outside:
        raise Unusable("InnoDB keeps files outside the data directory %s (%s): moving the data directory aside "
                       "would not move them" % (datadir, ", ".join(outside)))
    if os.path.ismount(datadir):
        raise Unusable("data directory %s is a mount point, so it cannot be moved aside by rename; mount the "
                       "filesystem one level up (e.g. at %s) to allow physical restores"
                       % (datadir, os.path.dirname(datadir)))
    if os.path.lexists(snapshot_to):
        raise Unusable("snapshot path %s already exists; refusing to overwrite it" % snapshot_to)
    if os.stat(os.path.dirname(snapshot_to)).st_dev != os.stat(os.path.dirname(datadir)).st_dev:
        raise Unusable("snapshot path %s is on another filesystem than %s; the data directory is moved aside "
                       "by rename, which needs the same filesystem" % (snapshot_to, datadir))
    if not p["whole_server"]:
        others = sorted(set(foreign_schemas(schemas_in(datadir), p["database"]))
                        | set(foreign_schemas(schemas_in(folder), p["database"])))
        if others:
            raise Unusable("the server or the backup holds other databases too (%s): a physical restore puts the "
                           "whole server back to the backup's time. Use the logical restore, or whole_server=true"
                           % ", ".join(others))
    if kind["type"] == "backup" and not p["consume"]:
        need, free = tree_bytes(folder), shutil.disk_usage(os.path.dirname(datadir)).free
        if need + (64 << 20) > free:
            raise Unusable("copying %s needs %d MiB free next to %s, and there are %d MiB"
                           % (folder, need >> 20, datadir, free >> 20))
    return version


def _systemctl(module, action, service):
    rc, _out, err = module.run_command(["systemctl", action, service])
    if rc != 0:
        raise MysqlError("systemctl %s %s failed: %s" % (action, service, err.strip() or "exit %d" % rc))


def _wait_up(client, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.variables("version")
        except MysqlError as exc:
            if time.monotonic() > deadline:
                raise MysqlError("the server did not accept connections within %d s: %s" % (timeout, exc))
            time.sleep(0.2)


def _carry(old, new):
    """Copy the distribution's marker files (debian-*.flag, mysql_upgrade_info) the backup lacks."""
    for name in os.listdir(old):
        src, dst = os.path.join(old, name), os.path.join(new, name)
        if CARRIED_FILES.match(name) and os.path.isfile(src) and not os.path.lexists(dst):
            shutil.copy2(src, dst)
            st = os.stat(src)
            os.chown(dst, st.st_uid, st.st_gid)


def _differences(expected, actual):
    return ["%s: %s, expected %s" % (t, actual.get(t, "missing"), expected.get(t, "not in the backup"))
            for t in sorted(set(expected) | set(actual)) if expected.get(t, -1) != actual.get(t, -1)]


def _swap(module, client, folder, kind, datadir, snapshot_to, expected, result):
    """Stop, move aside, put the backup in, chown, start, prove. On failure put the old datadir back."""
    p = module.params
    timings = result["timings"]
    owner = os.stat(datadir)
    step, moved, placed = "stop", False, False
    started = time.monotonic()

    def timed(name, func, *args):
        nonlocal step
        step = name
        begin = time.monotonic()
        value = func(*args)
        timings[name] = round(time.monotonic() - begin, 3)
        return value

    try:
        timed("stop", _systemctl, module, "stop", p["service"])
        timed("move_aside", os.rename, datadir, snapshot_to)
        moved = True
        if kind["type"] == "datadir":
            timed("put_in", os.rename, folder, datadir)
            result["method"] = "rename"
        else:
            os.mkdir(datadir)
            os.chmod(datadir, owner.st_mode & 0o7777)
            action = "--move-back" if p["consume"] else "--copy-back"
            threads = p["parallel"] or max(1, min(8, os.cpu_count() or 1))
            timed("put_in", run_tool, [client.tool("mariadb-backup"), action, "--target-dir=" + folder,
                                       "--datadir=" + datadir, "--parallel=%d" % threads],
                  "mariadb-backup " + action)
            result["method"] = action[2:]
        placed = True
        timed("chown", chown_tree, datadir, owner.st_uid, owner.st_gid)
        _carry(snapshot_to, datadir)
        timed("start", _systemctl, module, "start", p["service"])
        _wait_up(client, p["start_timeout"])
        result["seconds"] = round(time.monotonic() - started, 3)
        if expected is not None:
            tables = timed("checksums", client.checksums, p["database"])
            result["tables"] = tables
            if tables != expected:
                raise MysqlError("the restored database %s differs from the backup's checksums (%s)"
                                 % (p["database"], "; ".join(_differences(expected, tables))))
    except (MysqlError, OSError) as exc:
        if step == "move_aside" and getattr(exc, "errno", None) == errno.EXDEV:
            exc = "%s (the kernel cannot rename it in place: it is in a lower layer of an overlay filesystem, " \
                  "as in a container image, or its parent is another filesystem)" % exc
        outcome = _put_back(module, folder, kind, datadir, snapshot_to, moved, placed)
        module.fail_json(msg=tagged(BACKUP, "physical restore of %s from %s failed at %s: %s. %s"
                                    % (datadir, folder, step, exc, outcome)), **result)
    result.update(changed=True, restored=True, snapshot=snapshot_to)


def _put_back(module, folder, kind, datadir, snapshot_to, moved, placed):
    """Undo a half-done swap; return a sentence saying where things stand."""
    service = module.params["service"]
    try:
        if moved:
            module.run_command(["systemctl", "stop", service])
            if os.path.lexists(datadir):
                if kind["type"] == "datadir" and placed:
                    os.rename(datadir, folder)
                elif module.params["consume"]:
                    os.rename(datadir, folder.rstrip("/") + ".partial-" + _stamp())
                else:
                    shutil.rmtree(datadir)
            os.rename(snapshot_to, datadir)
        _systemctl(module, "start", service)
    except (MysqlError, OSError) as exc:
        return ("Putting the old data directory back failed too (%s): it is at %s; move it to %s and start %s"
                % (exc, snapshot_to if os.path.lexists(snapshot_to) else datadir, datadir, service))
    if moved:
        return "The old data directory was put back and the server started on it: nothing changed"
    return "The data directory was not touched; the server was started again"


def _stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def main():
    argument_spec = dict(
        src=dict(type="path", required=True),
        database=dict(type="str", required=True),
        expected_tables=dict(type="dict"),
        datadir=dict(type="path"),
        snapshot_to=dict(type="path"),
        service=dict(type="str", default="mariadb"),
        consume=dict(type="bool", default=False),
        whole_server=dict(type="bool", default=False),
        on_unusable=dict(type="str", default="fail", choices=["fail", "report"]),
        min_size_mb=dict(type="int", default=0),
        compare_first=dict(type="bool", default=True),
        verify=dict(type="bool", default=True),
        parallel=dict(type="int"),
        start_timeout=dict(type="int", default=300),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    result = dict(changed=False, differs=False, restored=False, usable=False, reason=None, source=p["src"],
                  method="none", snapshot=None, datadir=None, server_version=None, backup_version=None, size=0,
                  removed_tables=[], timings={}, seconds=0.0)
    if not os.path.exists(p["src"]):
        module.fail_json(msg=tagged(BACKUP, "backup %s does not exist; list backups with rewind.rollback.backup_info"
                                    % p["src"]), **result)
    try:
        with Client(p) as client:
            live = _live(module, client)
            result["server_version"] = live["version"]
            expected, notable = p["expected_tables"], False
            try:
                folder, item = _source(p["src"])
                result["source"] = folder
                if expected is None:
                    expected = item.get("tables")
                kind = physical_source(folder) if os.path.isdir(folder) else {"type": None}
                datadir = os.path.normpath(p["datadir"] or live["datadir"] or "")
                if not datadir or datadir == ".":
                    raise Unusable("the server is not running and its data directory is unknown; pass datadir")
                result["datadir"] = datadir
                snapshot_to = os.path.normpath(p["snapshot_to"] or "%s.rewind-%s" % (datadir, _stamp()))
                result["backup_version"] = _check(p, folder, kind, datadir, snapshot_to, live, item)
                result["size"] = tree_bytes(os.path.join(folder, p["database"]))
                if kind["type"] == "backup" and result["size"] < p["min_size_mb"] << 20:
                    raise Unusable("database %s is only %d MiB in the backup (under min_size_mb %d): a logical "
                                   "restore is as fast and keeps the server running"
                                   % (p["database"], result["size"] >> 20, p["min_size_mb"]), notable=False)
                result["usable"] = True
            except Unusable as exc:
                result["reason"] = str(exc)
                notable = exc.notable
            if expected is not None:
                expected = {k: (None if v is None else int(v)) for k, v in expected.items()}
            if live["up"] and expected is not None and (p["compare_first"] or module.check_mode):
                result["tables"] = client.checksums(p["database"]) if p["database"] in client.databases() else {}
                result["removed_tables"] = sorted(set(result["tables"]) - set(expected))
                if result["tables"] == expected:
                    module.exit_json(**result)
            result["differs"] = True
            if not result["usable"]:
                if p["on_unusable"] == "fail":
                    module.fail_json(msg=tagged(BACKUP, "cannot restore %s physically: %s"
                                                % (p["database"], result["reason"])), **result)
                if notable:
                    module.warn("the physical backup cannot be used here: %s" % result["reason"])
                module.exit_json(**result)
            result["changed"] = True
            if module.check_mode:
                module.exit_json(**result)
            result["changed"] = False
            _swap(module, client, folder, kind, datadir, snapshot_to, expected, result)
    except (MysqlError, OSError, ValueError) as exc:
        module.fail_json(msg="physical restore of %s from %s failed before the server was touched: %s"
                         % (p["database"], p["src"], exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
