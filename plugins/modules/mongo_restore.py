#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongo_restore
short_description: Restore a MongoDB database from a mongodump, exactly, and prove it; or take such a dump
version_added: 0.1.0
description:
  - O(state=restored) brings database O(database) back to what the dump O(src) holds. Collections
    created after the dump are dropped first (C(mongorestore --drop) alone leaves them), then
    C(mongorestore --drop --stopOnError) replaces every collection of the dump, its documents,
    indexes and options. A dump is a C(mongodump --archive) file or a C(mongodump --out) folder (or
    one database's folder of it), gzip-compressed or not; what it is is told from the path and the
    first bytes, never from the name.
  - Before and after, the live database is compared with the dump collection by collection, for the set
    of collections, document counts, index lists (name, keys and options), collection options and,
    with V(documents) in O(compare), the SHA-256 of the sorted SHA-256 digests of every document's
    BSON bytes. When they already agree nothing is done and the result is not changed, so a rollback
    can be re-run; when the restored database does not agree with the dump the module fails.
  - The dump's side of the comparison is read from the dump itself in one streaming pass, or taken
    from O(expected_collections) (what M(rewind.rollback.mongo_restore) recorded in the backup's
    manifest when it took the dump), which saves reading a verified dump again.
  - O(state=dumped) takes such a dump into a backup set C(<root>/<id>/) with C(manifest.json), as
    M(rewind.rollback.snapshot) does for the other tiers, so M(rewind.rollback.backup_select) finds
    and verifies it. It runs C(mongodump --archive --gzip) (or writes a folder with O(format=folder))
    and records the summary of every collection in the manifest.
  - The live server is read with a small built-in client of MongoDB's wire protocol (OP_MSG, MongoDB
    3.6 or later, SCRAM-SHA-256 or SCRAM-SHA-1, TLS from the connection string's options), so the
    managed host needs no Python driver. Dumping and restoring are done by MongoDB's Database Tools
    (C(mongodump), C(mongorestore)), which get the connection string, credentials included, from a
    private 0600 C(--config) file; no secret reaches a command line or a log.
author: rewind developers (@rewind)
options:
  state:
    description:
      - V(restored) makes the live database equal to O(src).
      - V(dumped) writes a new backup set under O(root) with a dump of the live database.
    type: str
    choices: [restored, dumped]
    default: restored
  database:
    description: The database restored or dumped. Other databases are never touched.
    type: str
    required: true
  src:
    description: The dump to restore (O(state=restored)).
    type: path
  expected_collections:
    description:
      - The summary of each collection of the dump, as recorded in the backup's manifest
        (C(meta.collections) of a M(rewind.rollback.backup_select) result). Without it the dump is read.
    type: dict
  compare:
    description:
      - What must agree between the live database and the dump, besides the set of collections and
        their options. V(documents) reads every document of the live database (and of the dump).
    type: list
    elements: str
    choices: [count, indexes, documents]
    default: [count, indexes, documents]
  drop_extra:
    description: Drop live collections the dump does not have (collections the bad release created).
    type: bool
    default: true
  root:
    description: Backup root for O(state=dumped); the set is written to C(<root>/<id>/).
    type: path
  id:
    description: Set id for O(state=dumped). Default C(<UTC time>-<label>).
    type: str
  label:
    description: What the set is for (O(state=dumped)); rollbacks choose C(pre-deploy) sets.
    type: str
    choices: [pre-deploy, pre-rollback, manual]
    default: pre-deploy
  tier:
    description: Tier recorded in the manifest (O(state=dumped)).
    type: str
    default: mongo
  app:
    description: Application recorded in the manifest (O(state=dumped)).
    type: str
  release:
    description: The release live now, recorded in the manifest (O(state=dumped)).
    type: str
  format:
    description: O(state=dumped) writes C(db.archive.gz) (V(archive)) or the folder C(db/) (V(folder)).
    type: str
    choices: [archive, folder]
    default: archive
  gzip:
    description: Compress the dump (C(mongodump --gzip)).
    type: bool
    default: true
  uri:
    description:
      - MongoDB connection string, C(mongodb://host[:port][,host...][/authdb][?options]). Options the
        module reads itself are C(authSource), C(authMechanism), C(tls), C(tlsCAFile),
        C(tlsCertificateKeyFile), C(tlsAllowInvalidCertificates), C(tlsAllowInvalidHostnames); all of
        them go to the tools too. C(mongodb+srv://) is not supported (give the seed list).
      - Put credentials in O(login_user) and O(login_password) rather than here.
    type: str
    default: mongodb://127.0.0.1:27017/
  login_user:
    description: User to authenticate as. Restoring needs the C(restore) role, dropping collections C(dbAdmin) on O(database).
    type: str
  login_password:
    description: Password of O(login_user). Only ever written to the tools' private 0600 C(--config) file.
    type: str
  auth_source:
    description: Authentication database. Default the URI's C(authSource), else its path, else C(admin).
    type: str
  mongodump_path:
    description: The C(mongodump) program, a path or a name on PATH.
    type: str
    default: mongodump
  mongorestore_path:
    description: The C(mongorestore) program, a path or a name on PATH.
    type: str
    default: mongorestore
  connect_timeout:
    description: Seconds to wait for the server, for each connection and command.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details:
      - O(state=restored) compares the live database with the dump and reports whether a restore would
        run and which collections it would drop; it changes nothing.
      - O(state=dumped) reports the set it would write.
  diff_mode:
    support: none
notes:
  - Stop the applications that write to the database first (the rewind roles do), and snapshot it
    (O(state=dumped), O(label=pre-rollback)), since mongorestore is not atomic.
  - Users and roles of the database are not restored (they live in C(admin)).
seealso:
  - module: rewind.rollback.mongo_info
  - module: rewind.rollback.backup_select
"""

EXAMPLES = r"""
- name: Restore the chatbot database from the chosen dump
  rewind.rollback.mongo_restore:
    database: chatbot
    src: "{{ rewind_plan.backups.db.path }}"
    expected_collections: "{{ rewind_plan.backups.db.meta.collections | default(omit) }}"
    uri: mongodb://db1.example.com:27017,db2.example.com:27017/?replicaSet=rs0&tls=true
    login_user: rewind
    login_password: "{{ vault_mongo_rewind_password }}"

- name: Would the restore change anything? (check mode compares, read only)
  rewind.rollback.mongo_restore:
    database: chatbot
    src: /var/backups/rewind/chatbot/20261124T024500Z-pre-deploy/db.archive.gz
  check_mode: true
  register: drift

- name: Take the pre-deployment dump
  rewind.rollback.mongo_restore:
    state: dumped
    database: chatbot
    root: /var/backups/rewind/chatbot
    label: pre-deploy
    app: chatbot
    release: r41
    login_user: rewind
    login_password: "{{ vault_mongo_rewind_password }}"
"""

RETURN = r"""
differs:
  description: Whether the live database differed from the dump when the module started (O(state=restored)).
  returned: always
  type: bool
differences:
  description: What differed, one line per collection and aspect (O(state=restored)).
  returned: always
  type: list
  elements: str
  sample: ["conversations: not in the dump (4 documents)", "messages: indexes differ from the dump (missing user_at)"]
restored:
  description: The collections mongorestore replaced (empty when nothing was done).
  returned: always
  type: list
  elements: str
  sample: [messages, migrations, users]
dropped:
  description: Live collections not in the dump that were dropped (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [conversations]
collections:
  description: Summary of each collection after the module ran (O(state=restored)), or of the dump written (O(state=dumped)).
  returned: success
  type: dict
  sample:
    messages:
      type: collection
      count: 480
      sha256: 7160268bdccc0f0b6d6bb1d1bd5e4f7f4a49b0f4c93a2c5b1f8e6a3d2c1b0a99
      indexes: [{name: _id_, key: [[_id, 1]]}, {name: user_at, key: [[user, 1], [at, -1]]}]
      options: {}
seconds:
  description: Time spent in mongorestore or mongodump.
  returned: always
  type: float
id:
  description: The set id (O(state=dumped)).
  returned: when state is dumped
  type: str
  sample: 20261124T024500Z-pre-deploy
path:
  description: The set folder (O(state=dumped)).
  returned: when state is dumped
  type: str
  sample: /var/backups/rewind/chatbot/20261124T024500Z-pre-deploy
manifest:
  description: The manifest written (O(state=dumped)); in check mode, the one that would be, without files.
  returned: when state is dumped
  type: dict
"""

import datetime
import hashlib
import json
import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._archive import digest_dir
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._mongo import (
    COMPARE, Client, DumpError, MongoError, compare, connection, connection_argument_spec, dump_argv,
    dump_compressed, read_dump, restore_argv, tools_config)


def _run_tool(module, argv, what):
    """Run a Database Tool; fail with the end of its output (it never holds the password: that is in --config)."""
    tool = argv[0] if os.path.isabs(argv[0]) else module.get_bin_path(argv[0])
    if not tool or not os.access(tool, os.X_OK):
        raise MongoError("%s: the program %s is not installed on %s (or not executable); install MongoDB's Database "
                         "Tools or set its path (mongodump_path, mongorestore_path)"
                         % (what, argv[0], socket.gethostname()))
    started = time.monotonic()
    rc, out, err = module.run_command([tool] + argv[1:])
    if rc != 0:
        tail = "\n".join((err or out or "").strip().splitlines()[-6:])
        raise MongoError("%s exited %d: %s" % (what, rc, tail or "no output"))
    return round(time.monotonic() - started, 3)


def _restored(module, conn):
    p = module.params
    database, src, what = p["database"], p["src"], p["compare"]
    result = dict(changed=False, differs=False, differences=[], restored=[], dropped=[], seconds=0.0)
    if not src:
        module.fail_json(msg=tagged(INPUT, "state=restored needs src, the dump to restore"), **result)
    try:
        expected = p["expected_collections"] or read_dump(src, database)
    except DumpError as exc:
        module.fail_json(msg=tagged(BACKUP, "cannot use the dump: %s" % exc), **result)
    if not expected:
        module.fail_json(msg=tagged(BACKUP, "the dump %s holds no collection of database %s; is it the dump of "
                                            "another database?" % (src, database)), **result)
    with Client(conn, p["connect_timeout"]) as client:
        live = client.summary(database, what)
        result["differences"] = compare(expected, live, what)
        extra = sorted(set(live) - set(expected)) if p["drop_extra"] else []
        if not result["differences"]:
            module.exit_json(collections=live, **result)
        result.update(changed=True, differs=True, dropped=extra)
        if module.check_mode:
            module.exit_json(**result)
        for name in extra:
            client.drop(database, name)
        with tools_config(conn) as config:
            argv = restore_argv(p["mongorestore_path"], config, src, database, dump_compressed(src, database))
            result["seconds"] = _run_tool(module, argv, "mongorestore of %s into %s on %s"
                                          % (src, database, client.address))
        result["restored"] = sorted(name for name, entry in expected.items() if entry.get("type") == "collection")
        after = client.summary(database, what)
    result["collections"] = after
    problems = compare(expected, after, what)
    if problems:
        module.fail_json(msg="mongorestore of %s finished, but database %s still differs from the dump: %s. "
                             "The pre-rollback snapshot holds the state before the restore."
                             % (src, database, "; ".join(problems)), **result)
    module.exit_json(**result)


def _manifest_item(path, name, database, compression, collections):
    if os.path.isdir(path):
        digest = digest_dir(path)
        sha256, size, fmt = digest["tree_sha256"], digest["bytes"], "mongodump"
    else:
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        sha256, size, fmt = hasher.hexdigest(), os.path.getsize(path), "mongodump-archive"
    return dict(kind="db", format=fmt, path=name, sha256=sha256, size=size, compression=compression,
                database=database, collections=collections)


def _dumped(module, conn):
    p = module.params
    if not p["root"]:
        module.fail_json(msg=tagged(INPUT, "state=dumped needs root, the backup root to write the set into"))
    now = datetime.datetime.now(datetime.timezone.utc)
    set_id = p["id"] or "%s-%s" % (now.strftime("%Y%m%dT%H%M%SZ"), p["label"])
    set_dir = os.path.join(p["root"], set_id)
    name = "db.archive.gz" if p["format"] == "archive" and p["gzip"] else "db.archive" if p["format"] == "archive" else "db"
    manifest = dict(rewind_manifest=1, id=set_id, label=p["label"], tier=p["tier"], app=p["app"] or p["database"],
                    host=socket.gethostname(), created_at=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    release=p["release"], files=[])
    result = dict(changed=True, id=set_id, path=set_dir, manifest=manifest, differs=False, differences=[],
                  restored=[], dropped=[], seconds=0.0)
    if os.path.exists(os.path.join(set_dir, "manifest.json")):
        module.fail_json(msg="backup set %s already exists; pass another id" % set_dir, **result)
    if module.check_mode:
        module.exit_json(**result)
    os.makedirs(p["root"], mode=0o700, exist_ok=True)
    os.makedirs(set_dir, mode=0o700, exist_ok=True)
    dest = os.path.join(set_dir, name)
    with Client(conn, p["connect_timeout"]) as client:
        before = client.summary(p["database"], ("count", "indexes"))
        if not before:
            module.fail_json(msg="database %s on %s has no collections: nothing to back up (wrong database?)"
                             % (p["database"], client.address), **result)
        with tools_config(conn) as config:
            argv = dump_argv(p["mongodump_path"], config, dest, p["database"], p["format"] == "archive", p["gzip"])
            result["seconds"] = _run_tool(module, argv, "mongodump of %s on %s" % (p["database"], client.address))
        after = client.summary(p["database"], ("count", "indexes"))
    try:
        collections = read_dump(dest, p["database"])
    except DumpError as exc:
        module.fail_json(msg="mongodump wrote a dump that cannot be read back: %s" % exc, **result)
    if compare(before, after, ("count", "indexes")) or compare(collections, after, ("count", "indexes")):
        module.warn("database %s was written while it was dumped: the dump holds one moment of it, but stop the "
                    "writers before a dump that must match the live data" % p["database"])
    manifest["files"].append(_manifest_item(dest, name, p["database"], "gzip" if p["gzip"] else "none", collections))
    tmp = os.path.join(set_dir, ".manifest.json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, os.path.join(set_dir, "manifest.json"))
    result["collections"] = collections
    module.exit_json(**result)


def main():
    argument_spec = dict(
        state=dict(type="str", default="restored", choices=["restored", "dumped"]),
        database=dict(type="str", required=True),
        src=dict(type="path"),
        expected_collections=dict(type="dict"),
        compare=dict(type="list", elements="str", default=list(COMPARE), choices=list(COMPARE)),
        drop_extra=dict(type="bool", default=True),
        root=dict(type="path"),
        id=dict(type="str"),
        label=dict(type="str", default="pre-deploy", choices=["pre-deploy", "pre-rollback", "manual"]),
        tier=dict(type="str", default="mongo"),
        app=dict(type="str"),
        release=dict(type="str"),
        format=dict(type="str", default="archive", choices=["archive", "folder"]),
        gzip=dict(type="bool", default=True),
        mongodump_path=dict(type="str", default="mongodump"),
        mongorestore_path=dict(type="str", default="mongorestore"),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "restored", ["src"]), ("state", "dumped", ["root"])])
    p = module.params
    try:
        conn = connection(p["uri"], p["login_user"], p["login_password"], p["auth_source"])
        if p["state"] == "dumped":
            _dumped(module, conn)
        else:
            _restored(module, conn)
    except MongoError as exc:
        what = "restoring %s from %s" % (p["database"], p["src"]) if p["state"] == "restored" else \
            "dumping %s" % p["database"]
        module.fail_json(msg="%s failed: %s" % (what, exc))
    except OSError as exc:
        module.fail_json(msg="%s: %s. Check that the remote user can read and write that path (become?)"
                         % (exc.filename or p["src"] or p["root"], exc.strerror or exc))


if __name__ == "__main__":
    main()
