#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongo_info
short_description: Read a MongoDB server's state, a database's collections and the replication lag
version_added: 0.1.0
description:
  - Connects (authenticating when O(login_user) is set) and reports the server it reached, whether it
    is a writable primary, and, when it is a replica set member, every member's state and how far each
    secondary's last applied operation is behind the primary (C(replSetGetStatus)).
  - With O(database), the summary of each of its collections, as M(rewind.rollback.mongo_restore)
    compares them, with the document count, index list, collection options and, with V(documents) in
    O(compare), the SHA-256 of the sorted SHA-256 digests of every document's BSON bytes.
  - With O(src), the same summary of a dump (a C(mongodump --archive) file or a C(mongodump --out)
    folder), read without a server.
  - Uses its own small client of MongoDB's wire protocol; the managed host needs no Python driver.
  - Changes nothing.
author: rewind developers (@rewind)
options:
  database:
    description: Summarise the collections of this database.
    type: str
  src:
    description: Summarise this dump's collections of O(database) instead of asking a server.
    type: path
  compare:
    description: What the summaries hold besides indexes and options; V(documents) reads every document.
    type: list
    elements: str
    choices: [count, indexes, documents]
    default: [count, indexes, documents]
  uri:
    description:
      - MongoDB connection string, C(mongodb://host[:port][,host...][/authdb][?options]); C(authSource),
        C(authMechanism) and the C(tls*) options are read. C(mongodb+srv://) is not supported.
    type: str
    default: mongodb://127.0.0.1:27017/
  login_user:
    description: User to authenticate as; reading the replica set status needs the C(clusterMonitor) role.
    type: str
  login_password:
    description: Password of O(login_user).
    type: str
  auth_source:
    description: Authentication database. Default the URI's C(authSource), else its path, else C(admin).
    type: str
  connect_timeout:
    description: Seconds to wait for the server, for each connection and command.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
seealso:
  - module: rewind.rollback.mongo_restore
"""

EXAMPLES = r"""
- name: Check the database answers and its replicas keep up
  rewind.rollback.mongo_info:
    uri: mongodb://db1.example.com:27017,db2.example.com:27017/?replicaSet=rs0
    login_user: rewind
    login_password: "{{ vault_mongo_rewind_password }}"
  register: mongo

- name: Fail when a secondary is more than 10 s behind
  ansible.builtin.assert:
    that: mongo.replication is none or mongo.replication.max_lag_s <= 10

- name: Summarise a dump, without a server
  rewind.rollback.mongo_info:
    database: chatbot
    src: /var/backups/rewind/chatbot/20261124T024500Z-pre-deploy/db.archive.gz
    compare: [count, indexes]
"""

RETURN = r"""
server:
  description: The server reached (null with O(src)).
  returned: always
  type: dict
  sample: {address: "db1.example.com:27017", version: "7.0.14", writable_primary: true, set_name: rs0}
replication:
  description:
    - The replica set (C(set), C(primary), C(members) with C(name), C(state), C(lag_s)) and C(max_lag_s),
      the largest lag of a secondary in seconds. Null when the server is not a replica set member.
  returned: always
  type: dict
  sample: {set: rs0, primary: "db1.example.com:27017", max_lag_s: 0.4,
           members: [{name: "db1.example.com:27017", state: PRIMARY, lag_s: null},
                     {name: "db2.example.com:27017", state: SECONDARY, lag_s: 0.4}]}
collections:
  description: The summary of each collection of O(database) (empty without O(database)).
  returned: always
  type: dict
  sample:
    users:
      type: collection
      count: 4
      sha256: f372e2fb685a0f0b6d6bb1d1bd5e4f7f4a49b0f4c93a2c5b1f8e6a3d2c1b0a99
      indexes: [{name: _id_, key: [[_id, 1]]}, {name: username_unique, key: [[username, 1]], unique: true}]
      options: {}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import BACKUP, INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._mongo import (
    COMPARE, Client, DumpError, MongoError, connection, connection_argument_spec, read_dump)


def main():
    argument_spec = dict(
        database=dict(type="str"),
        src=dict(type="path"),
        compare=dict(type="list", elements="str", default=list(COMPARE), choices=list(COMPARE)),
    )
    argument_spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_by={"src": ["database"]})
    p = module.params
    result = dict(changed=False, server=None, replication=None, collections={})
    if p["src"]:
        try:
            result["collections"] = read_dump(p["src"], p["database"])
        except DumpError as exc:
            module.fail_json(msg=tagged(BACKUP, "cannot read the dump: %s" % exc), **result)
        module.exit_json(**result)
    try:
        conn = connection(p["uri"], p["login_user"], p["login_password"], p["auth_source"])
    except MongoError as exc:
        module.fail_json(msg=tagged(INPUT, "uri: %s" % exc), **result)
    try:
        with Client(conn, p["connect_timeout"]) as client:
            build = client.command("admin", {"buildInfo": 1})
            result["server"] = dict(address=client.address, version=build.get("version"),
                                    writable_primary=bool(client.hello.get("isWritablePrimary",
                                                                           client.hello.get("ismaster"))),
                                    set_name=client.hello.get("setName"))
            result["replication"] = client.replication()
            if p["database"]:
                result["collections"] = client.summary(p["database"], p["compare"])
    except MongoError as exc:
        module.fail_json(msg="reading MongoDB at %s failed: %s" % (", ".join("%s:%d" % h for h in conn["hosts"]), exc),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
