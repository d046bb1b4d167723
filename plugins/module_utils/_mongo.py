# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MongoDB for the rollback modules: dumps read in Python, the live server read over its wire protocol.

Managed hosts need no Python driver (pymongo is not assumed): this module speaks just
enough of the MongoDB wire protocol itself (OP_MSG, MongoDB 3.6 and later; SCRAM-SHA-256
and SCRAM-SHA-1; TLS from the URI's options) to ping the server, list collections and
indexes, read every document as raw BSON, drop a collection and read the replica set's
status. Dumping and restoring are left to MongoDB's own Database Tools (``mongodump``,
``mongorestore``), which get the connection string with its credentials from a 0600
``--config`` file, never from the command line.

A collection's *summary* is what a rollback compares, for a dump and for the live server
alike::

    {"type": "collection", "count": 480, "sha256": "<hex>",
     "indexes": [<index spec without v/ns/background>, ...] (sorted by name),
     "options": {<collection options>}}

``sha256`` is the digest of the sorted SHA-256 digests of the documents' raw BSON bytes:
independent of the order documents come back in, and equal only when every document is
byte for byte the same (field order and BSON types included). ``mongorestore`` inserts the
documents of a dump unchanged, so a correct restore gives the dump's digests exactly.

Dumps: a ``mongodump --archive`` file (gzip or not), or a ``mongodump --out`` folder (or one
database folder of it) with ``<collection>.bson`` and ``<collection>.metadata.json``, gzip
or not. Compression is told by magic bytes (``_archive.open_decompressed``).

Pure Python, no Ansible imports: the modules call these and run the tools with
``module.run_command``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import ssl
import stringprep
import struct
import tempfile
import unicodedata
from urllib.parse import quote, unquote

from ansible_collections.rewind.rollback.plugins.module_utils._archive import ArchiveError, open_decompressed

#: What a summary can hold, and what check mode / verification compares by default.
COMPARE = ("count", "indexes", "documents")
#: Index fields that do not describe the index (format version, namespace, ignored legacy flag).
_INDEX_NOISE = ("v", "ns", "background")
ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"
_MAX_DOC = 48 << 20


class MongoError(RuntimeError):
    """The server refused or could not be reached; ``code`` is the server's error code when there is one."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class DumpError(ValueError):
    """A dump that cannot be read: the message names the file and what is wrong."""


# --- BSON ------------------------------------------------------------------------------------------

class Int64(int):
    """An int that stays a BSON int64 (cursor ids must)."""


class ObjectId:
    __slots__ = ("binary",)

    def __init__(self, binary):
        if isinstance(binary, str):
            binary = bytes.fromhex(binary)
        if len(binary) != 12:
            raise ValueError("an ObjectId is 12 bytes")
        self.binary = bytes(binary)

    def __eq__(self, other):
        return isinstance(other, ObjectId) and other.binary == self.binary

    def __hash__(self):
        return hash(self.binary)

    def __repr__(self):
        return "ObjectId(%r)" % self.binary.hex()


class Binary:
    __slots__ = ("subtype", "data")

    def __init__(self, data, subtype=0):
        self.data, self.subtype = bytes(data), subtype

    def __eq__(self, other):
        return isinstance(other, Binary) and (other.subtype, other.data) == (self.subtype, self.data)

    def __hash__(self):
        return hash((self.subtype, self.data))

    def __repr__(self):
        return "Binary(%r, %d)" % (self.data, self.subtype)


class Special:
    """Any other BSON value, kept as (tag, value) so it compares and serialises faithfully."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __eq__(self, other):
        return isinstance(other, Special) and (other.tag, other.value) == (self.tag, self.value)

    def __hash__(self):
        return hash((self.tag, repr(self.value)))

    def __repr__(self):
        return "Special(%r, %r)" % (self.tag, self.value)


def _cstring(data, pos):
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8", "surrogateescape"), end + 1


def _string(data, pos):
    (length,) = struct.unpack_from("<i", data, pos)
    start = pos + 4
    if length < 1 or data[start + length - 1] != 0:
        raise ValueError("bad BSON string")
    return data[start:start + length - 1].decode("utf-8", "surrogateescape"), start + length


def _value(kind, data, pos, name, raw_arrays):
    if kind == 0x01:
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if kind in (0x02, 0x0D, 0x0E):
        text, pos = _string(data, pos)
        return (text if kind == 0x02 else Special("code" if kind == 0x0D else "symbol", text)), pos
    if kind in (0x03, 0x04):
        (length,) = struct.unpack_from("<i", data, pos)
        end = pos + length
        if kind == 0x04 and name in raw_arrays:
            return _raw_elements(data, pos, end), end
        doc = _document(data, pos, end, raw_arrays)
        return (doc if kind == 0x03 else list(doc.values())), end
    if kind == 0x05:
        (length,) = struct.unpack_from("<i", data, pos)
        subtype = data[pos + 4]
        return Binary(data[pos + 5:pos + 5 + length], subtype), pos + 5 + length
    if kind == 0x07:
        return ObjectId(data[pos:pos + 12]), pos + 12
    if kind == 0x08:
        return data[pos] == 1, pos + 1
    if kind == 0x09:
        return Special("date", struct.unpack_from("<q", data, pos)[0]), pos + 8
    if kind in (0x06, 0x0A):
        return (None if kind == 0x0A else Special("undefined", None)), pos
    if kind == 0x0B:
        pattern, pos = _cstring(data, pos)
        flags, pos = _cstring(data, pos)
        return Special("regex", (pattern, flags)), pos
    if kind == 0x0C:
        ref, pos = _string(data, pos)
        return Special("dbpointer", (ref, data[pos:pos + 12].hex())), pos + 12
    if kind == 0x0F:
        (length,) = struct.unpack_from("<i", data, pos)
        return Special("codewscope", data[pos:pos + length].hex()), pos + length
    if kind == 0x10:
        return struct.unpack_from("<i", data, pos)[0], pos + 4
    if kind == 0x11:
        increment, seconds = struct.unpack_from("<II", data, pos)
        return Special("timestamp", (seconds, increment)), pos + 8
    if kind == 0x12:
        return Int64(struct.unpack_from("<q", data, pos)[0]), pos + 8
    if kind == 0x13:
        return Special("decimal128", data[pos:pos + 16].hex()), pos + 16
    if kind in (0xFF, 0x7F):
        return Special("minkey" if kind == 0xFF else "maxkey", None), pos
    raise ValueError("unknown BSON type 0x%02x" % kind)


def _raw_elements(data, pos, end):
    """The raw bytes of each (document) element of a BSON array."""
    out, pos = [], pos + 4
    while pos < end - 1:
        kind = data[pos]
        _key, pos = _cstring(data, pos + 1)
        if kind != 0x03:
            raise ValueError("expected documents in a raw array, got BSON type 0x%02x" % kind)
        (length,) = struct.unpack_from("<i", data, pos)
        out.append(bytes(data[pos:pos + length]))
        pos += length
    return out


def _document(data, pos, end, raw_arrays):
    doc, pos = {}, pos + 4
    while pos < end - 1:
        kind = data[pos]
        name, pos = _cstring(data, pos + 1)
        doc[name], pos = _value(kind, data, pos, name, raw_arrays)
    if data[end - 1] != 0:
        raise ValueError("BSON document does not end with NUL")
    return doc


def decode(data, raw_arrays=()):
    """A BSON document as a dict (insertion order kept). Arrays under a key in ``raw_arrays``
    come back as lists of the raw bytes of their documents (cursor batches)."""
    data = bytes(data)
    (length,) = struct.unpack_from("<i", data, 0)
    if length != len(data) or length < 5:
        raise ValueError("BSON length %d does not match %d bytes" % (length, len(data)))
    return _document(data, 0, length, frozenset(raw_arrays))


def _element(name, value):
    key = name.encode("utf-8") + b"\0"
    if isinstance(value, bool):
        return b"\x08" + key + (b"\x01" if value else b"\x00")
    if isinstance(value, Int64):
        return b"\x12" + key + struct.pack("<q", value)
    if isinstance(value, int):
        if -(1 << 31) <= value < (1 << 31):
            return b"\x10" + key + struct.pack("<i", value)
        return b"\x12" + key + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + key + struct.pack("<d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogateescape")
        return b"\x02" + key + struct.pack("<i", len(raw) + 1) + raw + b"\0"
    if isinstance(value, dict):
        return b"\x03" + key + encode(value)
    if isinstance(value, (list, tuple)):
        return b"\x04" + key + encode({str(i): v for i, v in enumerate(value)})
    if isinstance(value, (bytes, bytearray)):
        value = Binary(value)
    if isinstance(value, Binary):
        return b"\x05" + key + struct.pack("<iB", len(value.data), value.subtype) + value.data
    if isinstance(value, ObjectId):
        return b"\x07" + key + value.binary
    if value is None:
        return b"\x0A" + key
    if isinstance(value, Special) and value.tag == "date":
        return b"\x09" + key + struct.pack("<q", value.value)
    if isinstance(value, Special) and value.tag == "timestamp":
        return b"\x11" + key + struct.pack("<II", value.value[1], value.value[0])
    if isinstance(value, Special) and value.tag == "regex":
        return b"\x0B" + key + value.value[0].encode() + b"\0" + value.value[1].encode() + b"\0"
    if isinstance(value, Special) and value.tag in ("minkey", "maxkey"):
        return (b"\xFF" if value.tag == "minkey" else b"\x7F") + key
    if isinstance(value, Special) and value.tag == "decimal128":
        return b"\x13" + key + bytes.fromhex(value.value)
    raise TypeError("cannot encode %r as BSON" % (value,))


def encode(doc):
    """A dict (or list of pairs) as BSON."""
    items = doc.items() if isinstance(doc, dict) else doc
    body = b"".join(_element(k, v) for k, v in items)
    return struct.pack("<i", len(body) + 5) + body + b"\0"


# --- plain data for comparing and returning --------------------------------------------------------

def plain(value):
    """A JSON-able, comparable form of a decoded BSON or Extended JSON value.

    Numbers compare by value (an index direction 1 is the same as 1.0); other BSON types
    become ``{"$<type>": ...}`` so that they never compare equal to a string or number.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, ObjectId):
        return {"$oid": value.binary.hex()}
    if isinstance(value, Binary):
        return {"$binary": base64.b64encode(value.data).decode(), "$type": "%02x" % value.subtype}
    if isinstance(value, Special):
        return {"$" + value.tag: plain(value.value) if isinstance(value.value, (list, tuple)) else value.value}
    return repr(value)


def from_extended_json(value):
    """Extended JSON (canonical or relaxed, as mongodump writes metadata) to the decoded-BSON types."""
    if isinstance(value, list):
        return [from_extended_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key in ("$numberInt", "$numberLong"):
            return Int64(int(inner)) if key == "$numberLong" else int(inner)
        if key == "$numberDouble":
            return float(inner)
        if key == "$numberDecimal":
            return Special("decimal128", inner)
        if key == "$oid":
            return ObjectId(inner)
        if key == "$date":
            if isinstance(inner, dict):
                return Special("date", int(inner["$numberLong"]))
            if isinstance(inner, (int, float)):
                return Special("date", int(inner))
            stamp = datetime.datetime.fromisoformat(inner.replace("Z", "+00:00"))
            return Special("date", int(stamp.timestamp() * 1000))
        if key == "$timestamp":
            return Special("timestamp", (inner["t"], inner["i"]))
        if key == "$regularExpression":
            return Special("regex", (inner["pattern"], inner["options"]))
        if key in ("$minKey", "$maxKey"):
            return Special(key[1:].lower(), None)
        if key == "$binary" and isinstance(inner, dict):
            return Binary(base64.b64decode(inner["base64"]), int(inner["subType"], 16))
        if key == "$undefined":
            return Special("undefined", None)
    if set(value) == {"$binary", "$type"}:
        return Binary(base64.b64decode(value["$binary"]), int(value["$type"], 16))
    return {k: from_extended_json(v) for k, v in value.items()}


def _index(spec):
    clean = {k: v for k, v in spec.items() if k not in _INDEX_NOISE}
    clean["key"] = [[field, direction] for field, direction in clean.get("key", {}).items()]
    return plain(clean)


def normalise_indexes(specs):
    """Index specs (dump metadata or listIndexes) in comparable form, sorted by name."""
    return sorted((_index(spec) for spec in specs), key=lambda spec: spec.get("name", ""))


# --- dumps -----------------------------------------------------------------------------------------

def _read_exact(stream, size, name):
    data = stream.read(size)
    if len(data) != size:
        raise DumpError("%s: cut off: %d bytes where %d were expected (mongodump killed or the copy is "
                        "incomplete)" % (name, len(data), size))
    return data


def iter_raw(stream, name, terminator=False):
    """Raw BSON documents from a stream of them (a .bson file); ``None`` for an archive terminator."""
    while True:
        head = stream.read(4)
        if not head:
            return
        if len(head) < 4:
            raise DumpError("%s: cut off inside a document length" % name)
        (length,) = struct.unpack("<i", head)
        if length == -1 and terminator:
            yield None
            continue
        if not 5 <= length <= _MAX_DOC:
            raise DumpError("%s: corrupt: a document claims %d bytes" % (name, length))
        body = _read_exact(stream, length - 4, name)
        if body[-1:] != b"\0":
            raise DumpError("%s: corrupt: a document does not end with NUL" % name)
        yield head + body


class _Collection:
    def __init__(self, name, metadata=None):
        self.name, self.metadata = name, metadata or {}
        self.digests = []

    def add(self, raw):
        self.digests.append(hashlib.sha256(raw).digest())

    def summary(self):
        meta = self.metadata
        kind = meta.get("type") or ("view" if (meta.get("options") or {}).get("viewOn") else "collection")
        return {"type": kind, "count": len(self.digests), "sha256": documents_digest(self.digests),
                "indexes": normalise_indexes(meta.get("indexes") or []),
                "options": plain(meta.get("options") or {})}


def documents_digest(digests):
    """The order-independent digest of a collection's documents, from their SHA-256 digests."""
    return hashlib.sha256(b"".join(sorted(digests))).hexdigest()


def _metadata_json(text, name):
    try:
        return from_extended_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise DumpError("%s: metadata is not valid Extended JSON (%s)" % (name, exc))


def _read_archive(path, database):
    found = {}
    with open_decompressed(path) as stream:
        if stream.read(4) != ARCHIVE_MAGIC:
            raise DumpError("%s: not a mongodump archive (no archive magic number); for a folder dump pass "
                            "the folder" % path)
        docs = iter_raw(stream, path, terminator=True)
        prelude = next(docs, None)
        if prelude is None:
            raise DumpError("%s: the archive has no header" % path)
        for raw in docs:
            if raw is None:
                break
            meta = decode(raw)
            if meta.get("db") == database:
                found[meta["collection"]] = _Collection(meta["collection"], _metadata_json(meta["metadata"], path))
        else:
            raise DumpError("%s: cut off in the archive's header" % path)
        current, expect_header, finished = None, True, set()
        for raw in docs:
            if raw is None:
                expect_header = True
                continue
            if expect_header:
                header = decode(raw)
                namespace = (header.get("db"), header.get("collection"))
                current = found.get(namespace[1]) if namespace[0] == database else None
                if header.get("EOF"):
                    finished.add(namespace)
                    current = None
                expect_header = False
            elif current is not None:
                current.add(raw)
    unfinished = sorted(name for name, col in found.items() if (database, name) not in finished
                        and col.summary()["type"] == "collection")
    if unfinished:
        raise DumpError("%s: the archive ends before collection(s) %s are complete (mongodump cut off?)"
                        % (path, ", ".join(unfinished)))
    return found


def database_folder(path, database):
    """The folder holding a database's .bson files: ``<path>/<database>``, or ``path`` itself."""
    inner = os.path.join(path, database)
    return inner if os.path.isdir(inner) else path


def _strip_gz(name):
    return name[:-3] if name.endswith(".gz") else name


def _read_folder(path, database):
    folder = database_folder(path, database)
    found = {}
    names = sorted(os.listdir(folder))
    for name in names:
        if _strip_gz(name).endswith(".metadata.json"):
            with open_decompressed(os.path.join(folder, name)) as stream:
                meta = _metadata_json(stream.read().decode("utf-8"), os.path.join(folder, name))
            stem = _strip_gz(name)[:-len(".metadata.json")]
            found[stem] = _Collection(meta.get("collectionName") or unquote(stem), meta)
    for name in names:
        if _strip_gz(name).endswith(".bson"):
            stem = _strip_gz(name)[:-len(".bson")]
            if stem not in found:
                raise DumpError("%s: no %s.metadata.json next to it (mongodump cut off?)"
                                % (os.path.join(folder, name), stem))
            with open_decompressed(os.path.join(folder, name)) as stream:
                for raw in iter_raw(stream, os.path.join(folder, name)):
                    found[stem].add(raw)
    return {col.name: col for col in found.values()}


def is_archive(path):
    return not os.path.isdir(path)


def read_dump(path, database):
    """{collection: summary} of ``database`` in a dump (archive file or folder), reading it once.

    Raises DumpError naming the file when the dump is unreadable, cut off or corrupt.
    """
    if not os.path.exists(path):
        raise DumpError("%s does not exist" % path)
    try:
        found = _read_archive(path, database) if is_archive(path) else _read_folder(path, database)
    except ArchiveError as exc:
        raise DumpError(str(exc))
    except (ValueError, struct.error) as exc:
        raise DumpError("%s: corrupt BSON (%s)" % (path, exc))
    except OSError as exc:
        raise DumpError("%s: cannot read it: %s" % (exc.filename or path, exc.strerror or exc))
    return {name: col.summary() for name, col in found.items() if not name.startswith("system.")}


def dump_compressed(path, database):
    """True when a dump is gzip-compressed (``mongorestore --gzip``)."""
    if is_archive(path):
        with open(path, "rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    folder = database_folder(path, database)
    return any(name.endswith(".bson.gz") or name.endswith(".metadata.json.gz") for name in os.listdir(folder))


# --- comparing ---------------------------------------------------------------------------------------

def _index_names(summary):
    return {spec.get("name") for spec in summary.get("indexes") or []}


def compare(expected, actual, what=COMPARE):
    """Human-readable differences between two {collection: summary} maps; [] when equal.

    ``what`` picks among count, indexes, documents (the sha256); collection options and
    the set of collections are always compared.
    """
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append("%s: missing (the dump has %s documents)" % (name, expected[name].get("count", "?")))
            continue
        if name not in expected:
            problems.append("%s: not in the dump (%s documents)" % (name, actual[name].get("count", "?")))
            continue
        want, have = expected[name], actual[name]
        if want.get("type", "collection") != have.get("type", "collection"):
            problems.append("%s: is a %s, the dump has a %s" % (name, have.get("type"), want.get("type")))
        if ("count" in what or "documents" in what) and want.get("count") != have.get("count"):
            problems.append("%s: %s documents, the dump has %s" % (name, have.get("count"), want.get("count")))
        elif "documents" in what and want.get("sha256") and have.get("sha256") and want["sha256"] != have["sha256"]:
            problems.append("%s: documents differ from the dump (sha256 of sorted documents %s, expected %s)"
                            % (name, have["sha256"][:12], want["sha256"][:12]))
        if "indexes" in what and want.get("indexes") != have.get("indexes"):
            missing = sorted(_index_names(want) - _index_names(have))
            extra = sorted(_index_names(have) - _index_names(want))
            detail = "; ".join(filter(None, ["missing " + ", ".join(missing) if missing else "",
                                             "not in the dump " + ", ".join(extra) if extra else ""]))
            problems.append("%s: indexes differ from the dump (%s)" % (name, detail or "same names, other definitions"))
        if (want.get("options") or {}) != (have.get("options") or {}):
            problems.append("%s: collection options differ from the dump" % name)
    return problems


# --- connection strings --------------------------------------------------------------------------------

_URI = re.compile(r"^mongodb://(?:(?P<userinfo>[^@/]*)@)?(?P<hosts>[^/?]+)(?:/(?P<db>[^?]*))?(?:\?(?P<opts>.*))?$")


def parse_uri(uri):
    """``mongodb://[user[:password]@]host[:port][,host...][/db][?options]`` as a dict.

    Options keep their canonical case; values are strings. ``mongodb+srv://`` needs a DNS SRV
    lookup and is refused (give the seed list instead).
    """
    if uri.startswith("mongodb+srv://"):
        raise MongoError("mongodb+srv:// connection strings are not supported here: give the hosts as "
                         "mongodb://host1:27017,host2:27017/?replicaSet=... (the tools take either)")
    match = _URI.match(uri or "")
    if not match:
        raise MongoError("not a MongoDB connection string: expected mongodb://host[:port][/db][?options]")
    user = password = None
    if match.group("userinfo"):
        user, colon, secret = match.group("userinfo").partition(":")
        user, password = unquote(user), (unquote(secret) if colon else None)
    hosts = []
    for item in match.group("hosts").split(","):
        host, port = item, ""
        if not item.endswith("]") and ":" in item:
            host, port = item.rsplit(":", 1)
        if port and not port.isdigit():
            raise MongoError("bad port %r in the connection string" % port)
        hosts.append((host.strip("[]"), int(port) if port else 27017))
    options = {}
    for pair in (match.group("opts") or "").split("&"):
        if pair:
            key, _, value = pair.partition("=")
            options[unquote(key)] = unquote(value)
    return {"hosts": hosts, "user": user, "password": password, "database": unquote(match.group("db") or ""),
            "options": options}


def connection_argument_spec():
    """The connection options every rewind module that talks to MongoDB takes (documented in each)."""
    return dict(
        uri=dict(type="str", default="mongodb://127.0.0.1:27017/"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        auth_source=dict(type="str"),
        connect_timeout=dict(type="float", default=10.0),
    )


def _option(options, name, default=None):
    for key, value in options.items():
        if key.lower() == name.lower():
            return value
    return default


def _truthy(value):
    return str(value).lower() in ("true", "1", "yes")


def connection(uri, user=None, password=None, auth_source=None):
    """The connection settings: URI, with user/password/auth_source options winning over it."""
    parsed = parse_uri(uri)
    if user:
        parsed["user"], parsed["password"] = user, password
    elif password:
        parsed["password"] = password
    source = auth_source or _option(parsed["options"], "authSource") or parsed["database"] or "admin"
    parsed["auth_source"] = source
    return parsed


def tools_uri(conn):
    """The connection string for the Database Tools' --config file: credentials in, database path out.

    The path's database is left out (it would narrow what mongodump/mongorestore do); the auth
    database it stood for is kept as authSource.
    """
    options = {k: v for k, v in conn["options"].items() if k.lower() != "authsource"}
    if conn["user"]:
        options["authSource"] = conn["auth_source"]
    userinfo = ""
    if conn["user"]:
        userinfo = quote(conn["user"], safe="")
        if conn["password"] is not None:
            userinfo += ":" + quote(conn["password"], safe="")
        userinfo += "@"
    hosts = ",".join(("[%s]" % h if ":" in h else h) + ":%d" % p for h, p in conn["hosts"])
    query = "&".join("%s=%s" % (quote(k, safe=""), quote(str(v), safe="")) for k, v in options.items())
    return "mongodb://%s%s/%s" % (userinfo, hosts, "?" + query if query else "")


@contextlib.contextmanager
def tools_config(conn):
    """Yield the path of a 0600 YAML --config file (in a private 0700 folder) holding the URI."""
    folder = tempfile.mkdtemp(prefix="rewind-mongo-")
    try:
        os.chmod(folder, 0o700)
        path = os.path.join(folder, "tools.yaml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("uri: %s\n" % json.dumps(tools_uri(conn)))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def restore_argv(tool, config, src, database, compressed):
    """mongorestore: every collection of ``database`` in the dump, each dropped first.

    A folder is a ``mongodump --out`` folder, or one database's folder of it; a database folder
    under another name is restored into ``database`` (``--db``).
    """
    argv = [tool, "--config=" + config]
    if is_archive(src):
        argv += ["--nsInclude=%s.*" % database, "--archive=" + src]
    else:
        folder = os.path.normpath(database_folder(src, database))
        if folder != os.path.normpath(src):
            argv += ["--nsInclude=%s.*" % database, "--dir=" + src]
        elif os.path.basename(folder) == database:
            argv += ["--nsInclude=%s.*" % database, "--dir=" + os.path.dirname(folder)]
        else:
            argv += ["--db=" + database, "--dir=" + folder]
    argv += ["--drop", "--stopOnError"]
    if compressed:
        argv.append("--gzip")
    return argv


def dump_argv(tool, config, dest, database, archive=True, gzip=True):
    argv = [tool, "--config=" + config, "--db=" + database]
    argv.append(("--archive=" if archive else "--out=") + dest)
    if gzip:
        argv.append("--gzip")
    return argv


# --- SCRAM ---------------------------------------------------------------------------------------------

def saslprep(text):
    """RFC 4013 SASLprep of a password (what MongoDB's SCRAM-SHA-256 expects)."""
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c))
    mapped = unicodedata.normalize("NFKC", mapped)
    for char in mapped:
        if any(check(char) for check in (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
                                         stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
                                         stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9)):
            raise MongoError("the password holds a character SASLprep prohibits (U+%04X)" % ord(char))
    return mapped


class Scram:
    """The client side of one SCRAM conversation (RFC 5802 / 7677), MongoDB flavour."""

    def __init__(self, mechanism, user, password, nonce=None):
        if mechanism not in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            raise MongoError("authMechanism %s is not supported here (SCRAM-SHA-256 and SCRAM-SHA-1 are)" % mechanism)
        self.digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha1"
        if self.digest == "sha1":  # MongoDB hashes the password first for SCRAM-SHA-1
            password = hashlib.md5(("%s:mongo:%s" % (user, password)).encode()).hexdigest()  # nosec - protocol
        else:
            password = saslprep(password)
        self.password = password.encode("utf-8")
        self.nonce = nonce or base64.b64encode(os.urandom(24)).decode()
        self.first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
        self.server_signature = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        text = server_first.decode()
        fields = dict(item.split("=", 1) for item in text.split(","))
        if not fields.get("r", "").startswith(self.nonce):
            raise MongoError("authentication failed: the server's nonce does not extend ours")
        iterations = int(fields["i"])
        if iterations < 4096:
            raise MongoError("authentication refused: the server asks for only %d PBKDF2 iterations" % iterations)
        salted = hashlib.pbkdf2_hmac(self.digest, self.password, base64.b64decode(fields["s"]), iterations)
        client_key = hmac.new(salted, b"Client Key", self.digest).digest()
        stored_key = hashlib.new(self.digest, client_key).digest()
        without_proof = "c=biws,r=" + fields["r"]
        auth_message = ",".join((self.first_bare, text, without_proof)).encode()
        signature = hmac.new(stored_key, auth_message, self.digest).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.digest).digest()
        self.server_signature = base64.b64encode(hmac.new(server_key, auth_message, self.digest).digest()).decode()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def check(self, server_final):
        fields = dict(item.split("=", 1) for item in server_final.decode().split(",") if "=" in item)
        if "e" in fields:
            raise MongoError("authentication failed: %s" % fields["e"])
        if not hmac.compare_digest(fields.get("v", ""), self.server_signature or ""):
            raise MongoError("authentication failed: the server's signature is wrong (not the server we asked for?)")


# --- the wire protocol ------------------------------------------------------------------------------------

_OP_MSG = 2013


class Connection:
    """One socket to one server: OP_MSG commands in, documents out."""

    def __init__(self, host, port, options, timeout):
        self.address = "%s:%d" % (host, port)
        self._request = 0
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise MongoError("cannot connect to %s: %s" % (self.address, exc))
        if _truthy(_option(options, "tls", _option(options, "ssl", "false"))):
            context = ssl.create_default_context(cafile=_option(options, "tlsCAFile"))
            insecure = _truthy(_option(options, "tlsInsecure", "false"))
            if insecure or _truthy(_option(options, "tlsAllowInvalidHostnames", "false")):
                context.check_hostname = False
            if insecure or _truthy(_option(options, "tlsAllowInvalidCertificates", "false")):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if _option(options, "tlsCertificateKeyFile"):
                context.load_cert_chain(_option(options, "tlsCertificateKeyFile"))
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise MongoError("TLS with %s failed: %s" % (self.address, exc))
        self._sock = sock

    def close(self):
        with contextlib.suppress(OSError):
            self._sock.close()

    def _recv(self, size):
        chunks, left = [], size
        while left:
            chunk = self._sock.recv(min(left, 1 << 20))
            if not chunk:
                raise MongoError("%s closed the connection" % self.address)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def command(self, database, command, raw_arrays=()):
        """Run a command; the reply as a dict. Raises MongoError unless the reply says ok."""
        self._request += 1
        body = encode(list(command.items()) + [("$db", database)])
        message = struct.pack("<I", 0) + b"\0" + body
        header = struct.pack("<iiii", 16 + len(message), self._request, 0, _OP_MSG)
        try:
            self._sock.sendall(header + message)
            length, _request, _response, opcode = struct.unpack("<iiii", self._recv(16))
            payload = self._recv(length - 16)
        except (OSError, socket.timeout) as exc:
            raise MongoError("%s: %s" % (self.address, exc))
        if opcode != _OP_MSG or payload[4] != 0:
            raise MongoError("%s answered in a format this client does not read (opcode %d)" % (self.address, opcode))
        (doc_length,) = struct.unpack_from("<i", payload, 5)
        reply = decode(payload[5:5 + doc_length], raw_arrays)
        if reply.get("ok") not in (1, 1.0, True):
            raise MongoError("%s: %s" % (next(iter(command)), reply.get("errmsg", "failed")), reply.get("code"))
        return reply


class Client:
    """An authenticated connection to the primary (or the only server) of a deployment."""

    def __init__(self, conn, timeout=10.0):
        self.conn, self.timeout = conn, timeout
        self.socket = None
        self.hello = None

    def __enter__(self):
        errors = []
        for host, port in self.conn["hosts"]:
            try:
                sock = Connection(host, port, self.conn["options"], self.timeout)
            except MongoError as exc:
                errors.append(str(exc))
                continue
            try:
                hello = self._hello(sock)
                writable = hello.get("isWritablePrimary", hello.get("ismaster"))
                if not writable and len(self.conn["hosts"]) > 1:
                    errors.append("%s is not the primary" % sock.address)
                    sock.close()
                    continue
                self._authenticate(sock, hello)
            except MongoError:
                sock.close()
                raise
            self.socket, self.hello = sock, hello
            return self
        raise MongoError("no usable server: %s" % "; ".join(errors))

    def __exit__(self, *exc):
        if self.socket is not None:
            self.socket.close()

    def _hello(self, sock):
        command = {"hello": 1}
        if self.conn["user"]:
            command["saslSupportedMechs"] = "%s.%s" % (self.conn["auth_source"], self.conn["user"])
        try:
            return sock.command("admin", command)
        except MongoError as exc:
            if exc.code != 59:  # CommandNotFound: a server older than 4.4.2
                raise
            command["isMaster"] = command.pop("hello")
            return sock.command("admin", command)

    def _authenticate(self, sock, hello):
        if not self.conn["user"]:
            return
        mechanism = _option(self.conn["options"], "authMechanism")
        if not mechanism:
            offered = hello.get("saslSupportedMechs") or ["SCRAM-SHA-1"]
            mechanism = "SCRAM-SHA-256" if "SCRAM-SHA-256" in offered else "SCRAM-SHA-1"
        scram = Scram(mechanism, self.conn["user"], self.conn["password"] or "")
        source = self.conn["auth_source"]
        try:
            reply = sock.command(source, {"saslStart": 1, "mechanism": mechanism, "payload": Binary(scram.first()),
                                          "autoAuthorize": 1, "options": {"skipEmptyExchange": True}})
            reply = sock.command(source, {"saslContinue": 1, "conversationId": reply["conversationId"],
                                          "payload": Binary(scram.final(reply["payload"].data))})
            scram.check(reply["payload"].data)
            while not reply.get("done"):
                reply = sock.command(source, {"saslContinue": 1, "conversationId": reply["conversationId"],
                                              "payload": Binary(b"")})
        except MongoError as exc:
            raise MongoError("authentication of %s on %s (authSource %s) failed: %s"
                             % (self.conn["user"], sock.address, source, exc), exc.code)

    @property
    def address(self):
        return self.socket.address

    def command(self, database, command, raw_arrays=()):
        return self.socket.command(database, command, raw_arrays)

    def _cursor(self, database, collection, reply, raw=False):
        """Every document of a cursor (raw BSON bytes with ``raw``), fetching the batches as needed."""
        cursor = reply["cursor"]
        yield from cursor.get("firstBatch", [])
        while cursor.get("id"):
            reply = self.command(database, {"getMore": Int64(cursor["id"]), "collection": collection},
                                 raw_arrays=("nextBatch",) if raw else ())
            cursor = reply["cursor"]
            yield from cursor.get("nextBatch", [])

    def collections(self, database):
        """{name: {"type", "options"}} of a database, system collections left out."""
        reply = self.command(database, {"listCollections": 1, "cursor": {}})
        found = {}
        for item in self._cursor(database, "$cmd.listCollections", reply):
            if not item["name"].startswith("system."):
                found[item["name"]] = {"type": item.get("type", "collection"), "options": item.get("options", {})}
        return found

    def indexes(self, database, collection):
        reply = self.command(database, {"listIndexes": collection, "cursor": {}})
        return list(self._cursor(database, collection, reply))

    def raw_documents(self, database, collection):
        reply = self.command(database, {"find": collection, "filter": {}}, raw_arrays=("firstBatch",))
        return self._cursor(database, collection, reply, raw=True)

    def count(self, database, collection):
        reply = self.command(database, {"aggregate": collection, "pipeline": [{"$count": "n"}], "cursor": {}})
        batch = reply["cursor"].get("firstBatch") or [{"n": 0}]
        return int(batch[0]["n"])

    def summary(self, database, what=COMPARE):
        """{collection: summary} of a live database (documents read only when ``what`` has documents)."""
        out = {}
        for name, info in sorted(self.collections(database).items()):
            entry = {"type": info["type"], "options": plain(info["options"])}
            if info["type"] == "collection":
                entry["indexes"] = normalise_indexes(self.indexes(database, name))
                if "documents" in what:
                    digests = [hashlib.sha256(raw).digest() for raw in self.raw_documents(database, name)]
                    entry.update(count=len(digests), sha256=documents_digest(digests))
                else:
                    entry.update(count=self.count(database, name), sha256=None)
            else:
                entry.update(indexes=[], count=0, sha256=documents_digest([]))
            out[name] = entry
        return out

    def drop(self, database, collection):
        self.command(database, {"drop": collection})

    def replication(self):
        """The replica set's members and lag, or None when the server is not a replica set member."""
        try:
            status = self.command("admin", {"replSetGetStatus": 1})
        except MongoError as exc:
            if exc.code in (76, 94) or "not running with --replSet" in str(exc):
                return None
            raise MongoError("cannot read the replica set status (%s); grant the user the clusterMonitor role"
                             % exc, exc.code)
        return replication_lag(status)


def replication_lag(status):
    """{set, primary, members: [{name, state, lag_s}], max_lag_s} from a replSetGetStatus reply.

    A secondary's lag is how far its last applied operation is behind the primary's
    (``optimeDate``); without a primary in sight it is measured from the newest member.
    """
    members = status.get("members") or []

    def when(member):
        value = member.get("optimeDate")
        return value.value if isinstance(value, Special) else None

    primary = next((m for m in members if m.get("state") == 1), None)
    times = [when(m) for m in members if when(m) is not None]
    reference = when(primary) if primary is not None and when(primary) is not None else (max(times) if times else None)
    out = []
    for member in members:
        lag = None
        if member.get("state") == 2 and reference is not None and when(member) is not None:
            lag = max(0.0, (reference - when(member)) / 1000.0)
        out.append({"name": member.get("name"), "state": member.get("stateStr", member.get("state")), "lag_s": lag})
    lags = [m["lag_s"] for m in out if m["lag_s"] is not None]
    return {"set": status.get("set"), "primary": primary.get("name") if primary else None, "members": out,
            "max_lag_s": max(lags) if lags else 0.0}
