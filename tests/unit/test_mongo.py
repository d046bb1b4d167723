# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_mongo, mongo_restore and mongo_info without MongoDB: BSON, dumps built byte by byte as
mongodump lays them out (archive and folder, gzip or not), SCRAM against RFC 7677's vector, and
the wire client against a small in-process OP_MSG server that authenticates with SCRAM-SHA-256.

The real MongoDB Database Tools against a wire-compatible server are exercised by
tests/integration/test_chatbot.py and molecule/chatbot.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import socket
import stat
import struct
import threading

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _mongo as m
from ansible_collections.rewind.rollback.plugins.modules import mongo_info, mongo_restore

OID = [m.ObjectId(bytes([i]) * 12) for i in range(1, 9)]
MESSAGES = [{"_id": OID[i], "user": "alice", "text": "hello %d" % i, "at": m.Special("date", 1736150400000 + i),
             "n": m.Int64(2 ** 40 + i), "f": 1.5, "tags": ["a", i], "meta": {"seq": i, "ok": True, "none": None}}
            for i in range(5)]
USERS = [{"_id": OID[6], "username": "alice"}, {"_id": OID[7], "username": "bob"}]
INDEXES = {
    "messages": [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                 {"v": 2, "key": {"user": 1, "at": -1}, "name": "user_at"},
                 {"v": 2, "key": {"status": 1}, "name": "queue", "partialFilterExpression": {"status": "pending"}}],
    "users": [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
              {"v": 2, "key": {"username": 1}, "name": "username_unique", "unique": True}],
}


def ext(value):
    """Canonical Extended JSON of index specs, as mongodump writes .metadata.json."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$numberInt": str(value)}
    if isinstance(value, dict):
        return {k: ext(v) for k, v in value.items()}
    return [ext(v) for v in value]


def metadata(name):
    return json.dumps({"indexes": ext(INDEXES[name]), "uuid": "00" * 16, "collectionName": name})


COLLECTIONS = {"messages": MESSAGES, "users": USERS}


def archive_bytes(collections=COLLECTIONS, database="chatbot", cut=False, interleave=True):
    """A mongodump --archive stream: magic, prelude, metadata, terminator, namespace segments."""
    term = struct.pack("<i", -1)
    out = [m.ARCHIVE_MAGIC, m.encode({"concurrent_collections": 4, "version": "0.1", "server_version": "8.2.11",
                                      "tool_version": "100.3.1"})]
    for name in collections:
        out.append(m.encode({"db": database, "collection": name, "metadata": metadata(name), "size": 0, "type": ""}))
    out.append(term)
    # two segments per collection, interleaved, as concurrent dumping writes them
    halves = {name: [docs[:len(docs) // 2], docs[len(docs) // 2:]] for name, docs in collections.items()}
    order = [(name, h) for h in (0, 1) for name in collections] if interleave else \
        [(name, h) for name in collections for h in (0, 1)]
    for name, half in order:
        out.append(m.encode({"db": database, "collection": name, "EOF": False, "CRC": m.Int64(0)}))
        out.extend(m.encode(doc) for doc in halves[name][half])
        out.append(term)
    if cut:
        return b"".join(out)
    for name in collections:
        out.append(m.encode({"db": database, "collection": name, "EOF": True, "CRC": m.Int64(0)}))
        out.append(term)
    return b"".join(out)


def write_folder(root, collections=COLLECTIONS, database="chatbot", gz=False):
    folder = root / database
    folder.mkdir(parents=True)
    for name, docs in collections.items():
        data = b"".join(m.encode(doc) for doc in docs)
        meta = metadata(name).encode()
        suffix = ".gz" if gz else ""
        (folder / (name + ".bson" + suffix)).write_bytes(gzip.compress(data) if gz else data)
        (folder / (name + ".metadata.json" + suffix)).write_bytes(gzip.compress(meta) if gz else meta)
    return root


def expected_digest(docs):
    return hashlib.sha256(b"".join(sorted(hashlib.sha256(m.encode(d)).digest() for d in docs))).hexdigest()


# --- BSON -------------------------------------------------------------------------------------------

def test_bson_round_trip_keeps_types_and_order():
    doc = {"z": 1, "a": m.Int64(5), "big": 2 ** 40, "f": 2.5, "s": "é", "b": True, "n": None, "o": OID[0],
           "bin": m.Binary(b"\x00\x01", 4), "d": m.Special("date", -5), "ts": m.Special("timestamp", (7, 3)),
           "re": m.Special("regex", ("^a", "i")), "dec": m.Special("decimal128", "00" * 16),
           "min": m.Special("minkey", None), "arr": [1, "x", {"k": []}], "sub": {"x": {"y": 1}}}
    raw = m.encode(doc)
    back = m.decode(raw)
    assert list(back) == list(doc)
    assert back == doc
    assert isinstance(back["a"], m.Int64) and isinstance(back["big"], m.Int64)
    assert m.encode(back) == raw


def test_decode_returns_raw_documents_of_named_arrays_at_any_depth():
    docs = [m.encode(d) for d in USERS]
    reply = m.encode({"cursor": {"firstBatch": USERS, "id": m.Int64(0)}, "ok": 1.0})
    decoded = m.decode(reply, raw_arrays=("firstBatch",))
    assert decoded["cursor"]["firstBatch"] == docs
    assert m.decode(reply)["cursor"]["firstBatch"] == USERS


def test_decode_refuses_a_wrong_length():
    with pytest.raises(ValueError):
        m.decode(m.encode({"a": 1}) + b"\0")


@pytest.mark.parametrize("text, value", [
    ({"$numberInt": "2"}, 2), ({"$numberLong": "9"}, 9), ({"$numberDouble": "1.0"}, 1.0),
    ({"$oid": "01" * 12}, OID[0]), ({"$date": {"$numberLong": "5"}}, m.Special("date", 5)),
    ({"$binary": {"base64": "AAE=", "subType": "04"}}, m.Binary(b"\x00\x01", 4)),
    ({"$timestamp": {"t": 7, "i": 3}}, m.Special("timestamp", (7, 3))),
    ({"$regularExpression": {"pattern": "^a", "options": "i"}}, m.Special("regex", ("^a", "i"))),
    ({"a": [{"$numberInt": "1"}]}, {"a": [1]}),
])
def test_extended_json(text, value):
    assert m.from_extended_json(text) == value


def test_plain_makes_numbers_compare_by_value_and_tags_other_types():
    assert m.plain({"k": [1.0, m.Int64(-1)]}) == {"k": [1, -1]}
    assert m.plain(OID[0]) == {"$oid": "01" * 12}
    assert m.plain("1") != m.plain(1)


def test_index_specs_lose_version_namespace_and_background_and_sort_by_name():
    specs = [{"v": 1, "ns": "x.y", "background": True, "key": {"b": 1.0, "a": -1}, "name": "z"},
             {"v": 2, "key": {"_id": 1}, "name": "_id_"}]
    assert m.normalise_indexes(specs) == [{"key": [["_id", 1]], "name": "_id_"},
                                          {"key": [["b", 1], ["a", -1]], "name": "z"}]


# --- dumps ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz, interleave", [(False, True), (True, True), (True, False)])
def test_archive_summary(tmp_path, gz, interleave):
    path = tmp_path / "db.archive"
    data = archive_bytes(interleave=interleave)
    path.write_bytes(gzip.compress(data) if gz else data)
    summary = m.read_dump(str(path), "chatbot")
    assert summary["messages"]["count"] == 5
    assert summary["messages"]["sha256"] == expected_digest(MESSAGES)
    assert summary["users"]["sha256"] == expected_digest(USERS)
    assert [i["name"] for i in summary["messages"]["indexes"]] == ["_id_", "queue", "user_at"]
    assert summary["messages"]["indexes"][1]["partialFilterExpression"] == {"status": "pending"}
    assert m.dump_compressed(str(path), "chatbot") is gz
    assert m.read_dump(str(path), "other") == {}


@pytest.mark.parametrize("gz", [False, True])
def test_folder_summary_equals_the_archive_summary(tmp_path, gz):
    (tmp_path / "a").write_bytes(archive_bytes())
    write_folder(tmp_path / "out", gz=gz)
    from_archive = m.read_dump(str(tmp_path / "a"), "chatbot")
    assert m.read_dump(str(tmp_path / "out"), "chatbot") == from_archive
    assert m.read_dump(str(tmp_path / "out" / "chatbot"), "chatbot") == from_archive
    assert m.dump_compressed(str(tmp_path / "out"), "chatbot") is gz


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-20], "cut off"),
    (lambda d: b"XXXX" + d[4:], "not a mongodump archive"),
    (lambda d: d[:200], "cut off"),
])
def test_damaged_archives_are_refused_naming_the_file(tmp_path, damage, message):
    path = tmp_path / "db.archive.gz"
    path.write_bytes(gzip.compress(damage(archive_bytes())))
    with pytest.raises(m.DumpError) as err:
        m.read_dump(str(path), "chatbot")
    assert str(path) in str(err.value) and message in str(err.value)


def test_an_archive_without_the_eof_of_a_collection_is_incomplete(tmp_path):
    path = tmp_path / "db.archive"
    path.write_bytes(archive_bytes(cut=True))
    with pytest.raises(m.DumpError, match="ends before collection"):
        m.read_dump(str(path), "chatbot")


def test_a_bson_file_without_its_metadata_is_refused(tmp_path):
    write_folder(tmp_path)
    os.unlink(tmp_path / "chatbot" / "users.metadata.json")
    with pytest.raises(m.DumpError, match="no users.metadata.json"):
        m.read_dump(str(tmp_path), "chatbot")


def test_compare_names_each_difference():
    dump = {"a": {"type": "collection", "count": 2, "sha256": "1" * 64, "indexes": [{"name": "_id_"}], "options": {}},
            "b": {"type": "collection", "count": 1, "sha256": "2" * 64, "indexes": [], "options": {}}}
    live = {"a": {"type": "collection", "count": 2, "sha256": "3" * 64, "indexes": [{"name": "x"}], "options": {}},
            "c": {"type": "collection", "count": 4, "sha256": "4" * 64, "indexes": [], "options": {}}}
    assert m.compare(dump, live) == [
        "a: documents differ from the dump (sha256 of sorted documents 333333333333, expected 111111111111)",
        "a: indexes differ from the dump (missing _id_; not in the dump x)",
        "b: missing (the dump has 1 documents)",
        "c: not in the dump (4 documents)"]
    assert m.compare(dump, live, ("count",)) == ["b: missing (the dump has 1 documents)", "c: not in the dump (4 documents)"]
    assert m.compare(dump, dump) == []


# --- connection strings, the tools' config file -------------------------------------------------------

def test_parse_uri():
    parsed = m.parse_uri("mongodb://u%40x:p%3Aw@h1:27018,[::1],h3/app?replicaSet=rs0&authSource=admin")
    assert parsed == {"hosts": [("h1", 27018), ("::1", 27017), ("h3", 27017)], "user": "u@x", "password": "p:w",
                      "database": "app", "options": {"replicaSet": "rs0", "authSource": "admin"}}
    with pytest.raises(m.MongoError, match="mongodb\\+srv"):
        m.parse_uri("mongodb+srv://cluster.example.com/")
    with pytest.raises(m.MongoError):
        m.parse_uri("http://x")


def test_the_tools_get_credentials_only_in_a_private_config_file():
    conn = m.connection("mongodb://db1:27017,db2/chatbot?replicaSet=rs0&tls=true", "rewind", "p@ss:w/rd", None)
    assert conn["auth_source"] == "chatbot"  # the path's database, as the URI spec says
    uri = m.tools_uri(conn)
    assert uri == "mongodb://rewind:p%40ss%3Aw%2Frd@db1:27017,db2:27017/?replicaSet=rs0&tls=true&authSource=chatbot"
    with m.tools_config(conn) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path) as handle:
            assert handle.read() == "uri: %s\n" % json.dumps(uri)
        argv = m.restore_argv("mongorestore", path, "/b/db.archive.gz", "chatbot", True)
        assert not any("p@ss" in a or "p%40ss" in a or "rewind:" in a for a in argv)
        assert argv == ["mongorestore", "--config=" + path, "--nsInclude=chatbot.*", "--archive=/b/db.archive.gz",
                        "--drop", "--stopOnError", "--gzip"]
    assert not os.path.exists(path)


def test_restore_argv_for_folders(tmp_path):
    write_folder(tmp_path / "out")
    out, db = str(tmp_path / "out"), str(tmp_path / "out" / "chatbot")
    assert m.restore_argv("r", "c", out, "chatbot", False)[2:4] == ["--nsInclude=chatbot.*", "--dir=" + out]
    assert m.restore_argv("r", "c", db, "chatbot", False)[2:4] == ["--nsInclude=chatbot.*", "--dir=" + out]
    assert m.restore_argv("r", "c", db, "other", False)[2:4] == ["--db=other", "--dir=" + db]
    assert m.dump_argv("d", "c", "/s/db", "chatbot", archive=False, gzip=False) == [
        "d", "--config=c", "--db=chatbot", "--out=/s/db"]


# --- SCRAM --------------------------------------------------------------------------------------------

def test_scram_sha_256_matches_rfc_7677():
    scram = m.Scram("SCRAM-SHA-256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert scram.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = scram.final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    assert final == (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                     b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    scram.check(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    with pytest.raises(m.MongoError, match="signature is wrong"):
        scram.check(b"v=AAAA")


def test_scram_refuses_a_server_nonce_that_does_not_extend_ours_and_weak_iterations():
    scram = m.Scram("SCRAM-SHA-1", "u", "p", nonce="abc")
    with pytest.raises(m.MongoError, match="nonce"):
        scram.final(b"r=xyz,s=AAAA,i=4096")
    with pytest.raises(m.MongoError, match="iterations"):
        scram.final(b"r=abcdef,s=AAAA,i=1")


def test_saslprep():
    assert m.saslprep("I\u00adX") == "IX"
    assert m.saslprep("a\u00a0b") == "a b"
    with pytest.raises(m.MongoError):
        m.saslprep("a\u0007")


def test_replication_lag_is_measured_from_the_primary():
    member = lambda name, state, ms: {"name": name, "state": state, "stateStr": {1: "PRIMARY", 2: "SECONDARY"}[state],  # noqa: E731
                                      "optimeDate": m.Special("date", ms)}
    status = {"set": "rs0", "members": [member("a:1", 1, 10_000), member("b:1", 2, 7_500), member("c:1", 2, 10_000)]}
    lag = m.replication_lag(status)
    assert lag["primary"] == "a:1" and lag["max_lag_s"] == 2.5
    assert [x["lag_s"] for x in lag["members"]] == [None, 2.5, 0.0]


# --- the wire client against a small OP_MSG server --------------------------------------------------------

class FakeMongo:
    """Enough of a MongoDB server for the client: SCRAM-SHA-256, catalogs, find/getMore in batches of 2."""

    SALT, ITERATIONS = b"0123456789abcdef", 4096

    def __init__(self, user="rewind", password="s3cret", replica=False):
        self.collections = {name: [dict(d) for d in docs] for name, docs in COLLECTIONS.items()}
        self.indexes = {name: [dict(i) for i in specs] for name, specs in INDEXES.items()}
        self.user, self.password, self.replica = user, password, replica
        self.commands = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        state = {"auth": False, "cursors": {}}
        with conn:
            while True:
                head = conn.recv(16, socket.MSG_WAITALL)
                if len(head) < 16:
                    return
                length, request, _, _ = struct.unpack("<iiii", head)
                body = conn.recv(length - 16, socket.MSG_WAITALL)
                command = m.decode(body[5:])
                reply = self._handle(command, state)
                reply.setdefault("ok", 1.0)
                message = struct.pack("<I", 0) + b"\0" + m.encode(reply)
                conn.sendall(struct.pack("<iiii", 16 + len(message), 1, request, 2013) + message)

    def _handle(self, command, state):
        name = next(iter(command))
        self.commands.append(name)
        database = command["$db"]
        if name == "hello":
            return {"isWritablePrimary": True, "saslSupportedMechs": ["SCRAM-SHA-256"], "maxWireVersion": 21}
        if name == "saslStart":
            first = command["payload"].data.decode()[3:]
            state["nonce"] = dict(i.split("=", 1) for i in first.split(","))["r"] + "SERVER"
            state["first"] = first
            state["server_first"] = "r=%s,s=%s,i=%d" % (state["nonce"], base64.b64encode(self.SALT).decode(),
                                                         self.ITERATIONS)
            return {"conversationId": 1, "done": False, "payload": m.Binary(state["server_first"].encode())}
        if name == "saslContinue":
            final = command["payload"].data.decode()
            if not final:
                return {"conversationId": 1, "done": True, "payload": m.Binary(b"")}
            without_proof, proof = final.rsplit(",p=", 1)
            salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), self.SALT, self.ITERATIONS)
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            message = ",".join((state["first"], state["server_first"], without_proof)).encode()
            signature = hmac.new(hashlib.sha256(client_key).digest(), message, "sha256").digest()
            if bytes(a ^ b for a, b in zip(client_key, signature)) != base64.b64decode(proof):
                return {"ok": 0.0, "errmsg": "Authentication failed.", "code": 18}
            state["auth"] = True
            server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            verifier = base64.b64encode(hmac.new(server_key, message, "sha256").digest())
            return {"conversationId": 1, "done": False, "payload": m.Binary(b"v=" + verifier)}
        if not state["auth"]:
            return {"ok": 0.0, "errmsg": "command %s requires authentication" % name, "code": 13}
        if name == "buildInfo":
            return {"version": "7.0.14"}
        if name == "replSetGetStatus":
            if not self.replica:
                return {"ok": 0.0, "errmsg": "not running with --replSet", "code": 76}
            return {"set": "rs0", "members": [{"name": "a:1", "state": 1, "stateStr": "PRIMARY",
                                               "optimeDate": m.Special("date", 5000)}]}
        if name == "listCollections":
            batch = [{"name": n, "type": "collection", "options": {}} for n in self.collections]
            return {"cursor": {"firstBatch": batch + [{"name": "system.views", "type": "collection"}],
                               "id": m.Int64(0), "ns": database + ".$cmd.listCollections"}}
        if name == "listIndexes":
            return {"cursor": {"firstBatch": self.indexes.get(command[name], [{"v": 2, "key": {"_id": 1},
                                                                                "name": "_id_"}]),
                               "id": m.Int64(0), "ns": "x"}}
        if name in ("find", "getMore"):
            if name == "find":
                docs = list(self.collections[command["find"]])
                state["cursors"][77] = docs
            docs = state["cursors"][77]
            batch, state["cursors"][77] = docs[:2], docs[2:]
            key = "firstBatch" if name == "find" else "nextBatch"
            return {"cursor": {key: batch, "id": m.Int64(77 if state["cursors"][77] else 0), "ns": "x"}}
        if name == "aggregate":
            return {"cursor": {"firstBatch": [{"n": len(self.collections[command[name]])}], "id": m.Int64(0)}}
        if name == "drop":
            self.collections.pop(command[name], None)
            return {}
        return {"ok": 0.0, "errmsg": "no such command: %s" % name, "code": 59}

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/" % self.port

    def close(self):
        self.sock.close()


@pytest.fixture
def server():
    fake = FakeMongo()
    yield fake
    fake.close()


def test_client_authenticates_and_summarises_like_the_dump(server, tmp_path):
    (tmp_path / "a").write_bytes(archive_bytes())
    with m.Client(m.connection(server.uri, "rewind", "s3cret")) as client:
        live = client.summary("chatbot")
        counted = client.summary("chatbot", ("count", "indexes"))
        assert client.replication() is None
    assert server.commands[:3] == ["hello", "saslStart", "saslContinue"]
    assert "getMore" in server.commands
    assert live == m.read_dump(str(tmp_path / "a"), "chatbot")
    assert m.compare(live, counted, ("count", "indexes")) == []


def test_a_wrong_password_fails_with_the_user_and_the_server(server):
    with pytest.raises(m.MongoError) as err:
        with m.Client(m.connection(server.uri, "rewind", "wrong")):
            pass
    assert "authentication of rewind on 127.0.0.1:%d (authSource admin) failed" % server.port in str(err.value)


def test_no_server_listening():
    with pytest.raises(m.MongoError, match="no usable server: cannot connect to 127.0.0.1:1"):
        with m.Client(m.connection("mongodb://127.0.0.1:1/"), timeout=2):
            pass


# --- the modules ----------------------------------------------------------------------------------------

def test_mongo_info(run, server, tmp_path):
    result, _ = run(mongo_info, uri=server.uri, login_user="rewind", login_password="s3cret", database="chatbot")
    assert result["changed"] is False
    assert result["server"]["version"] == "7.0.14" and result["replication"] is None
    assert result["collections"]["users"]["sha256"] == expected_digest(USERS)
    (tmp_path / "a").write_bytes(archive_bytes())
    result, _ = run(mongo_info, database="chatbot", src=str(tmp_path / "a"), compare=["count"])
    assert result["collections"]["messages"]["count"] == 5 and result["server"] is None


def test_mongo_restore_check_mode_reports_what_differs_and_what_it_would_drop(run, server, tmp_path):
    (tmp_path / "a").write_bytes(gzip.compress(archive_bytes()))
    login = dict(uri=server.uri, login_user="rewind", login_password="s3cret", database="chatbot", src=str(tmp_path / "a"))
    result, _ = run(mongo_restore, check_mode=True, **login)
    assert result["changed"] is False and result["differs"] is False

    server.collections["conversations"] = [{"_id": OID[0]}]
    server.collections["messages"][0]["text"] = "rewritten"
    server.indexes["messages"].pop(1)
    result, _ = run(mongo_restore, check_mode=True, **login)
    assert result["changed"] is True and result["dropped"] == ["conversations"]
    first, second, third = result["differences"]
    assert first == "conversations: not in the dump (1 documents)"
    assert second.startswith("messages: documents differ from the dump (sha256 of sorted documents ")
    assert second.endswith("expected %s)" % expected_digest(MESSAGES)[:12])
    assert third == "messages: indexes differ from the dump (missing user_at)"
    assert "conversations" in server.collections, "check mode dropped nothing"


def test_mongo_restore_passes_the_password_only_through_the_config_file(run, server, tmp_path):
    """A stand-in mongorestore records what it was given; the live data stays different, so the module
    fails after it, saying the database still differs, having dropped the extra collection."""
    (tmp_path / "a").write_bytes(archive_bytes())
    seen = tmp_path / "seen.json"
    tool = tmp_path / "mongorestore"
    tool.write_text("#!/usr/bin/env python3\nimport json, os, stat, sys\n"
                    "cfg = [a for a in sys.argv if a.startswith('--config=')][0][9:]\n"
                    "json.dump({'argv': sys.argv, 'mode': stat.S_IMODE(os.stat(cfg).st_mode),"
                    " 'config': open(cfg).read()}, open(%r, 'w'))\n" % str(seen))
    tool.chmod(0o755)
    server.collections["conversations"] = [{"_id": OID[0]}]
    server.collections["users"].pop()
    result, _ = run(mongo_restore, uri=server.uri, login_user="rewind", login_password="s3cret", database="chatbot",
                    src=str(tmp_path / "a"), mongorestore_path=str(tool))
    assert result["failed"] is True
    assert "still differs from the dump: users: 1 documents, the dump has 2" in result["msg"]
    assert result["dropped"] == ["conversations"] and "conversations" not in server.collections
    called = json.loads(seen.read_text())
    assert "s3cret" not in " ".join(called["argv"]) and called["mode"] == 0o600
    assert "rewind:s3cret@127.0.0.1:%d" % server.port in called["config"]
    assert called["argv"][2:] == ["--nsInclude=chatbot.*", "--archive=" + str(tmp_path / "a"), "--drop", "--stopOnError"]


def test_mongo_restore_refuses_a_damaged_dump_before_touching_the_server(run, server, tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress(archive_bytes())[:-30])
    result, _ = run(mongo_restore, uri=server.uri, database="chatbot", src=str(tmp_path / "a.gz"))
    assert result["failed"] is True and result["msg"].startswith("REWIND-E-BACKUP: cannot use the dump: ")
    assert str(tmp_path / "a.gz") in result["msg"]
    assert server.commands == []


def test_mongo_restore_missing_tool_says_what_to_install(run, server, tmp_path):
    (tmp_path / "a").write_bytes(archive_bytes())
    server.collections["users"].pop()
    result, _ = run(mongo_restore, uri=server.uri, login_user="rewind", login_password="s3cret", database="chatbot",
                    src=str(tmp_path / "a"), mongorestore_path="no-such-mongorestore")
    assert result["failed"] is True
    assert "the program no-such-mongorestore is not installed" in result["msg"]
