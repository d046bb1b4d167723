# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup files: decompression, tar member safety, tree digests and verification.

Pure helpers, no Ansible imports: they run inside modules on the managed host and
unit-test in milliseconds. Everything streams in 1 MiB chunks, so memory stays flat
whatever the size of the backup (a tree digest keeps one line per entry).

Compression is told by magic bytes, never by the file name: gzip through zlib (which
checks each member's CRC-32 and length), zstd through a ``zstd -dc`` child process.

The tree digest is a contract shared with the snapshot and restore modules::

    for every path below the root (relative POSIX path, no leading "./", root excluded):
        line = f"{t}\\0{path}\\0{payload}\\n"   # t: d (dir, payload ""), f (sha256 hex of
                                               # the content), l (the symlink's target)
    tree_sha256 = sha256(lines joined in sorted(path) order)

A tar archive and the folder it was made from (or restored to) have the same digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import posixpath
import re
import subprocess
import tarfile
import tempfile
import threading
import zlib

CHUNK = 1 << 20
#: mysqldump ends every dump it finished with this line (``-- Dump completed on <date>``).
DUMP_TRAILER = b"-- Dump completed"
_TRAILER_WINDOW = 4096
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

#: Formats of single-file backups, and of folder backups. ``file`` is a plain file kept
#: as it was (``.env.backup``, ``crontab``); ``dir`` a folder of such files.
FILE_FORMATS = ("tar", "mysql-logical", "mongodump-archive", "file")
DIR_FORMATS = ("mydumper", "mongodump", "mysql-physical", "dir")
_PHYSICAL_CHECKPOINTS = ("xtrabackup_checkpoints", "mariadb_backup_checkpoints")
#: MongoDB documents are at most 16 MiB; a larger length field is corruption, not a reason to buffer it.
_BSON_MAX = 64 << 20


class ArchiveError(Exception):
    """A backup that cannot be used: ``ArchiveError(path, reason)``, shown as ``<path>: <reason>``.

    ``ArchiveError(message)`` is accepted too when the message already names the file.
    """

    def __init__(self, path, reason=None):
        if reason is None:
            path, reason = None, path
        self.path, self.reason = path, reason
        super().__init__(reason if path is None else "%s: %s" % (path, reason))


# --- decompression ------------------------------------------------------------------------------

class _Source:
    """The raw bytes of a file, read in chunks; counted, and hashed on the way when asked."""

    def __init__(self, fileobj, hashed):
        self._file = fileobj
        self.sha256 = hashlib.sha256() if hashed else None
        self.size = 0

    def read(self):
        data = self._file.read(CHUNK)
        self.size += len(data)
        if self.sha256 is not None:
            self.sha256.update(data)
        return data

    def drain(self):
        while self.read():
            pass


class _Decoder(io.RawIOBase):
    """Decompressed bytes of a _Source; subclasses return the next piece from _next(), b"" at the end."""

    def __init__(self, source, name):
        super().__init__()
        self._source, self._name = source, name
        self._buf, self._pos, self._done = b"", 0, False

    def readable(self):
        return True

    def readinto(self, b):
        while self._pos >= len(self._buf):
            if self._done:
                return 0
            self._buf, self._pos = self._next(), 0
            self._done = not self._buf
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = memoryview(self._buf)[self._pos:self._pos + n]
        self._pos += n
        return n


class _Plain(_Decoder):
    def _next(self):
        return self._source.read()


class _Gzip(_Decoder):
    """gzip through zlib: every member's CRC-32 and length are checked; members may follow each other (pigz)."""

    def __init__(self, source, name):
        super().__init__(source, name)
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _next(self):
        while True:
            if self._z.eof:
                data = self._z.unused_data or self._source.read()
                if not data:
                    return b""
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._z.unconsumed_tail or self._source.read()
                if not data:
                    raise ArchiveError(self._name, "gzip stream is truncated: it ends before its CRC and length "
                                                   "trailer (copy cut off, or the disk filled up while writing)")
            try:
                out = self._z.decompress(data, CHUNK)
            except zlib.error as exc:
                detail = str(exc).split(": ", 1)[-1]
                raise ArchiveError(self._name, "gzip data is corrupt (%s)" % detail)
            if out:
                return out


class _Zstd(_Decoder):
    """zstd through a ``zstd -dc`` child: a thread feeds it the raw bytes, we read what it writes."""

    def __init__(self, source, name):
        super().__init__(source, name)
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(["zstd", "-d", "-c", "-q"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            raise ArchiveError(name, "cannot run zstd to decompress it (%s); install the zstd package" % exc)
        self._feed_error = None
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()

    def _feed(self):
        try:
            with self._proc.stdin as pipe:
                for data in iter(self._source.read, b""):
                    pipe.write(data)
        except BrokenPipeError:
            pass  # zstd stopped reading: its exit status tells why
        except OSError as exc:
            self._feed_error = exc

    def _next(self):
        data = self._proc.stdout.read(CHUNK)
        if data:
            return data
        status = self._proc.wait()
        self._feeder.join()
        if self._feed_error is not None:
            raise ArchiveError(self._name, "cannot read it: %s" % self._feed_error)
        if status != 0:
            self._stderr.seek(0)
            detail = self._stderr.read().decode("utf-8", "replace").split("/*stdin*\\")[-1].lstrip(" :").strip()
            raise ArchiveError(self._name, "zstd cannot decompress it (exit %d): %s"
                                           % (status, detail or "no message"))
        return b""

    def close(self):
        if not self.closed:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._feeder.join()
            self._proc.stdout.close()
            self._stderr.close()
        super().close()


_DECODERS = {"gzip": _Gzip, "zstd": _Zstd, "none": _Plain}


def _compression(head):
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return "none"


def detect_compression(path):
    """``gzip``, ``zstd`` or ``none`` for a file, by its magic bytes; None for a folder."""
    if os.path.isdir(path):
        return None
    with open(path, "rb") as handle:
        return _compression(handle.read(4))


def _sniff(raw):
    """Compression of an open file, which is left at its start."""
    compression = _compression(raw.read(4))
    raw.seek(0)
    return compression


def _stream(source, compression, name):
    return io.BufferedReader(_DECODERS[compression](source, name), CHUNK)


@contextlib.contextmanager
def open_decompressed(path):
    """Yield a binary stream of the decompressed content of ``path`` (gzip, zstd or plain).

    Reading raises ArchiveError naming the file when the data is corrupt or truncated,
    at the latest when the end of the stream is read.
    """
    with open(path, "rb") as raw:
        with _stream(_Source(raw, hashed=False), _sniff(raw), path) as stream:
            yield stream


def _drain(stream):
    buf = bytearray(CHUNK)
    while stream.readinto(buf):
        pass


# --- tar member safety ----------------------------------------------------------------------------

def _norm(name):
    """Archive-relative path: leading './' and trailing '/' dropped; '' for the root itself."""
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    return "" if name == "." else name


def _under(path, prefixes):
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _resolve(path, symlinks, depth=0):
    """Components of an archive path once the symlinks seen so far are followed; None if it leaves the root."""
    parts = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(comp)
        target = symlinks.get("/".join(parts))
        if target is not None:
            if target.startswith("/") or depth >= 40:
                return None
            parts = _resolve("/".join(parts[:-1] + [target]), symlinks, depth + 1)
            if parts is None:
                return None
    return parts


def check_member(member, archive, symlinks):
    """Refuse a tar member that would write outside the restore root or create a device.

    ``symlinks`` maps the symlinks met so far in this archive to their targets: pass the same
    dict for every member of one archive, in archive order; symlink members are added to it.
    A symlink's target is resolved from the member's folder, a hard link's from the archive
    root (as tar does), both through the symlinks met so far.
    Raises ArchiveError("<archive>: member '<name>': <reason>").
    """
    def refuse(reason):
        raise ArchiveError(archive, "member '%s': %s" % (member.name, reason))

    if member.name.startswith("/"):
        refuse("absolute path; it would be written outside the restore root")
    path = _norm(member.name)
    parts = path.split("/")
    if ".." in parts:
        refuse("'..' in its path climbs out of the restore root")
    for i in range(1, len(parts) + 1):
        link = "/".join(parts[:i])
        if link in symlinks:
            refuse("its path goes through symlink '%s' (-> %s) earlier in the archive; extracting it "
                   "would write wherever that link points" % (link, symlinks[link]))
    if member.ischr() or member.isblk():
        refuse("device node; backups never contain devices")
    if member.isfifo():
        refuse("fifo; backups never contain fifos")
    if member.issym() or member.islnk():
        what = "symlink" if member.issym() else "hard link"
        if member.linkname.startswith("/"):
            refuse("%s to the absolute path '%s', outside the restore root" % (what, member.linkname))
        base = posixpath.dirname(path) if member.issym() else ""
        if _resolve(posixpath.join(base, member.linkname), symlinks) is None:
            refuse("%s to '%s' escapes the restore root" % (what, member.linkname))
        if member.issym():
            symlinks[path] = member.linkname


# --- tree digests ----------------------------------------------------------------------------------

def _summary(entries):
    """The contract digest of {path: (type, payload, size)}."""
    digest = hashlib.sha256()
    for path in sorted(entries):
        kind, payload, _size = entries[path]
        digest.update(("%s\0%s\0%s\n" % (kind, path, payload)).encode("utf-8", "surrogateescape"))
    return {"tree_sha256": digest.hexdigest(), "entries": len(entries),
            "bytes": sum(size for _kind, _payload, size in entries.values())}


def _wanted(subpaths, exclude):
    """(subpaths or None for everything, exclusions) as normalised relative paths."""
    wanted = None if subpaths is None else [_norm(p) for p in subpaths]
    if wanted is not None and "" in wanted:
        wanted = None
    return wanted, [_norm(p) for p in exclude or ()]


def _sha256_of(stream):
    """(sha256 hex, size) of what is left in a stream."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _file_sha256(path):
    with open(path, "rb") as handle:
        return _sha256_of(handle)


def _walk(root, subpaths=None, exclude=None, hash_file=_file_sha256):
    """{relative path: (type, payload, size)} for a folder, symlinks not followed.

    ``hash_file(path)`` returns (sha256 hex, size). Sockets, fifos and devices are left out:
    no backup holds them.
    """
    wanted, skip = _wanted(subpaths, exclude)
    entries = {}

    def visit(folder, prefix):
        with os.scandir(folder) as scan:
            for item in scan:
                rel = prefix + item.name
                inside = wanted is None or _under(rel, wanted)
                if _under(rel, skip) or not (inside or any(w.startswith(rel + "/") for w in wanted)):
                    continue
                if item.is_symlink():
                    entry = ("l", os.readlink(item.path), 0)
                elif item.is_dir(follow_symlinks=False):
                    entry = ("d", "", 0)
                    visit(item.path, rel + "/")
                elif item.is_file(follow_symlinks=False):
                    entry = ("f",) + hash_file(item.path)
                else:
                    continue
                if inside:
                    entries[rel] = entry

    visit(root, "")
    return entries


def digest_dir(root, subpaths=None, exclude=None):
    """Tree digest of a folder: ``{"tree_sha256", "entries", "bytes"}``.

    ``subpaths``: only entries equal to or below these relative paths; ``exclude``: leave out
    these relative paths and everything below them.
    """
    return _summary(_walk(root, subpaths, exclude))


def _tar_entries(fileobj, name, check):
    """{path: (type, payload, size)} of a tar stream, implied parent folders included."""
    entries, symlinks = {}, {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|") as tar:
            for member in tar:
                if check:
                    check_member(member, name, symlinks)
                path = _norm(member.name)
                if not path:
                    continue
                if member.isdir():
                    entry = ("d", "", 0)
                elif member.issym():
                    entry = ("l", member.linkname, 0)
                elif member.islnk():
                    entry = entries.get(_norm(member.linkname))
                    if entry is None or entry[0] != "f":
                        raise ArchiveError(name, "member '%s': hard link to '%s', which is not a file earlier "
                                                 "in the archive" % (member.name, member.linkname))
                elif member.isreg():
                    entry = ("f",) + _sha256_of(tar.extractfile(member))
                else:
                    continue
                entries[path] = entry
                parent = posixpath.dirname(path)
                while parent and parent not in entries:
                    entries[parent] = ("d", "", 0)
                    parent = posixpath.dirname(parent)
    except tarfile.TarError as exc:
        raise ArchiveError(name, "not a readable tar archive (%s)" % exc)
    return entries


def digest_tar_stream(fileobj, subpaths=None, exclude=None):
    """Tree digest of a tar stream (read once, front to back), equal to digest_dir of the extracted tree.

    Member names lose a leading './'; the '.' member is skipped; a hard link counts as a file
    with its target's content. ``subpaths``/``exclude`` as for digest_dir.
    """
    wanted, skip = _wanted(subpaths, exclude)
    entries = _tar_entries(fileobj, getattr(fileobj, "name", "tar stream"), check=False)
    return _summary({path: entry for path, entry in entries.items()
                     if (wanted is None or _under(path, wanted)) and not _under(path, skip)})


# --- content checks: check(stream, name) -> facts, or ArchiveError -------------------------------

def _check_tar(stream, name):
    summary = _summary(_tar_entries(stream, name, check=True))
    return {"tree_sha256": summary["tree_sha256"], "entries": summary["entries"]}


def _check_dump(stream, name):
    total, tail = 0, b""
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        total += len(chunk)
        tail = (tail + chunk[-_TRAILER_WINDOW:])[-_TRAILER_WINDOW:]
    if not total:
        raise ArchiveError(name, "dump is incomplete: it is empty (mysqldump failed before writing anything)")
    if DUMP_TRAILER not in tail:
        raise ArchiveError(name, "dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump)")
    return {}


def _check_not_empty(stream, name):
    if not stream.read(1):
        raise ArchiveError(name, "is empty (0 bytes after decompression)")
    return {}


def _check_nothing(stream, name):
    return {}


def _check_sniffed(stream, name):
    """A file whose name says nothing: a tar if its first header says so, else a plain file."""
    if stream.peek(512)[257:262] == b"ustar":
        return dict(_check_tar(stream, name), format="tar")
    return {"format": "file"}


def _check_json(stream, name):
    try:
        json.loads(stream.read().decode("utf-8"))
    except ValueError as exc:
        raise ArchiveError(name, "is not valid JSON (%s)" % exc)
    return {}


def _check_bson(stream, name):
    """A .bson file is BSON documents back to back, each starting with its int32 length and ending in NUL."""
    count = 0
    while True:
        head = stream.read(4)
        if not head:
            return {}
        length = int.from_bytes(head, "little", signed=True)
        body = stream.read(length - 4) if len(head) == 4 and 5 <= length <= _BSON_MAX else b""
        if len(body) != length - 4 or body[-1:] != b"\0":
            raise ArchiveError(name, "BSON document %d is truncated or corrupt (mongodump cut off?)" % (count + 1))
        count += 1


_FILE_CHECKS = {"tar": _check_tar, "mysql-logical": _check_dump, "mongodump-archive": _check_not_empty,
                "file": _check_nothing, None: _check_sniffed}


def _scan(path, check):
    """One pass over a file: raw sha256 and size, decompression test, ``check`` on the content.

    Returns (facts, error): error is the ArchiveError, or None. The whole file is hashed even
    when its content is bad, so sizes and checksums are always reported.
    """
    with open(path, "rb") as raw:
        compression = _sniff(raw)
        source = _Source(raw, hashed=True)
        error, facts = None, {}
        try:
            with _stream(source, compression, path) as stream:
                facts = check(stream, path)
                _drain(stream)
        except ArchiveError as exc:
            error = exc
        source.drain()
    facts.update(sha256=source.sha256.hexdigest(), size=source.size, compression=compression)
    return facts, error


# --- folder backups ----------------------------------------------------------------------------------

def _strip_compression(name):
    for suffix, plain in ((".tgz", ".tar"), (".tzst", ".tar"), (".gz", ""), (".zst", "")):
        if name.endswith(suffix):
            return name[:-len(suffix)] + plain
    return name


def _has_bson(path):
    with os.scandir(path) as scan:
        for db in scan:
            if db.is_dir(follow_symlinks=False):
                with os.scandir(db.path) as files:
                    if any(_strip_compression(f.name).endswith(".bson") for f in files):
                        return True
    return False


def detect_format(path):
    """Format of a backup by its name (files) or its layout (folders); None when the name says nothing."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "metadata")):
            return "mydumper"
        if any(os.path.isfile(os.path.join(path, c)) for c in _PHYSICAL_CHECKPOINTS):
            return "mysql-physical"
        return "mongodump" if _has_bson(path) else "dir"
    base = _strip_compression(os.path.basename(path).lower())
    for suffix, fmt in ((".sql", "mysql-logical"), (".tar", "tar"), (".archive", "mongodump-archive")):
        if base.endswith(suffix):
            return fmt
    return None


def _check_mydumper(root, entries):
    """metadata says the dump finished, and every table schema has its data unless the table is empty.

    Row counts come from the metadata's ``[`db`.`table`]`` sections (``rows = N``, mydumper
    0.12 and later); an older metadata file has none, so only the finish line is checked.
    """
    meta_path = os.path.join(root, "metadata")
    with open(meta_path, "rb") as handle:
        metadata = handle.read().decode("utf-8", "replace")
    if "Finished dump at" not in metadata:
        raise ArchiveError(meta_path, "no 'Finished dump at' line: mydumper did not finish (killed or failed)")
    rows, table = {}, None
    for line in metadata.splitlines():
        header = re.match(r"^\[`(.+)`\.`(.+)`\]$", line.strip())
        if header:
            table = "%s.%s" % header.groups()
        elif table and re.match(r"^rows\s*=\s*\d+$", line.strip()):
            rows[table] = int(line.split("=")[1])
    names = [p for p, e in entries.items() if e[0] == "f" and "/" not in p]
    for name in names:
        schema = re.match(r"^(.+)-schema\.sql(\.gz|\.zst)?$", name)
        if not schema or rows.get(schema.group(1), 0) == 0:
            continue
        data = re.compile(r"^%s(\.\d+)*\.(sql|dat)(\.gz|\.zst)?$" % re.escape(schema.group(1)))
        if not any(data.match(n) for n in names):
            raise ArchiveError(os.path.join(root, name), "table %s has %d rows in metadata but no data file "
                                                         "(mydumper cut off?)" % (schema.group(1),
                                                                                  rows[schema.group(1)]))


def _check_mongodump(root, entries):
    """Every <db>/<collection>.bson has its <collection>.metadata.json (parsed while scanning)."""
    bson = [p for p, e in entries.items() if e[0] == "f" and re.match(r"^[^/]+/.+\.bson(\.gz)?$", p)]
    if not bson:
        raise ArchiveError(root, "no <db>/<collection>.bson files: mongodump wrote nothing")
    for path in bson:
        stem = path[:path.rindex(".bson")]
        if not any(stem + ".metadata.json" + ext in entries for ext in ("", ".gz")):
            raise ArchiveError(os.path.join(root, path), "no %s.metadata.json next to it (mongodump cut off?)"
                               % posixpath.basename(stem))


def _check_physical(root, entries):
    if not any(name in entries for name in _PHYSICAL_CHECKPOINTS):
        raise ArchiveError(root, "no xtrabackup_checkpoints file: mariadb-backup did not finish")


_DIR_CHECKS = {"mydumper": _check_mydumper, "mongodump": _check_mongodump, "mysql-physical": _check_physical}


def _scan_member_file(path):
    """(sha256, size) of a file in a folder backup, after testing its compression and content."""
    base = _strip_compression(os.path.basename(path))
    check = _check_nothing
    if base.endswith(".bson"):
        check = _check_bson
    elif base.endswith(".metadata.json"):
        check = _check_json
    facts, error = _scan(path, check)
    if error is not None:
        raise error
    return facts["sha256"], facts["size"]


def _scan_folder(path, fmt):
    """(facts, error) of a folder backup: every file read once, then the layout rules of its format."""
    try:
        entries = _walk(path, hash_file=_scan_member_file)
        if fmt in _DIR_CHECKS:
            _DIR_CHECKS[fmt](path, entries)
    except ArchiveError as exc:
        return {}, exc
    summary = _summary(entries)
    return {"tree_sha256": summary["tree_sha256"], "entries": summary["entries"], "size": summary["bytes"]}, None


# --- verification -------------------------------------------------------------------------------------

def verify_file(path, expected_sha256=None, expected_size=None, kind_hint=None):
    """Verify a backup in one streaming pass; never raises for a bad backup.

    Checks the raw sha256 and size (against the expected values when given), that it
    decompresses to the end, and its content by format: a tar's every member is safe
    (check_member) and its tree digest computed; a SQL dump is complete; a folder backup
    follows its tool's layout. For a folder, ``expected_sha256`` is its tree digest and the
    size the total of its files. ``kind_hint`` is the format (FILE_FORMATS, DIR_FORMATS);
    by default it comes from the name or layout.

    Returns ``{path, ok, reason, sha256, size, format, compression}`` plus ``tree_sha256`` and
    ``entries`` for tars and folders. ``reason`` says what is wrong (None when ok); a problem
    with a file inside a folder backup is prefixed with that file's relative path.
    """
    if kind_hint is not None and kind_hint not in FILE_FORMATS + DIR_FORMATS:
        raise ValueError("kind_hint %r is not a backup format; accepted: %s"
                         % (kind_hint, ", ".join(FILE_FORMATS + DIR_FORMATS)))
    folder = os.path.isdir(path)
    fmt = kind_hint or detect_format(path)
    result = {"path": path, "ok": False, "reason": None, "sha256": None, "size": None, "format": fmt,
              "compression": None}
    if not os.path.exists(path):
        result["reason"] = "does not exist"
        return result
    if (fmt in DIR_FORMATS) != folder:
        result["reason"] = "is a %s, but a %s backup is a %s" % (("folder", fmt, "file") if folder
                                                                 else ("file", fmt, "folder"))
        return result
    try:
        facts, error = _scan_folder(path, fmt) if folder else _scan(path, _FILE_CHECKS[fmt])
    except OSError as exc:
        facts, error = {}, ArchiveError(exc.filename or path, "cannot read it: %s" % (exc.strerror or exc))
    result.update(facts)
    actual_sha256 = result.get("tree_sha256") if folder else result["sha256"]
    problems = []
    if expected_size is not None and result["size"] is not None and result["size"] != expected_size:
        problems.append("size is %d bytes, expected %d (cut off, or replaced since the backup was made)"
                        % (result["size"], expected_size))
    if expected_sha256 and actual_sha256 and actual_sha256 != expected_sha256.lower():
        problems.append("sha256 is %s, expected %s: the %s changed since the backup was made"
                        % (actual_sha256, expected_sha256, "folder" if folder else "file"))
    if error is not None:
        inner = folder and error.path not in (None, path)
        problems.append("%s: %s" % (os.path.relpath(error.path, path), error.reason) if inner else error.reason)
    result.update(ok=not problems, reason="; ".join(problems) or None)
    return result
