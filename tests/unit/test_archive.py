# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_archive.py: decompression, tar member safety, tree digests, verify_file.

Real files in tmp_path; zstd through the zstd CLI like production.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import subprocess
import tarfile

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils._archive import (
    ArchiveError, check_member, digest_dir, digest_tar_stream, open_decompressed, verify_file)

needs_zstd = pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd CLI not installed")

DUMP = (b"-- MySQL dump 10.13  Distrib 8.0.36\n--\n-- Host: localhost    Database: wordpress\n"
        b"CREATE TABLE `wp_posts` (`ID` bigint unsigned NOT NULL);\n"
        + b"".join(b"INSERT INTO `wp_posts` VALUES (%d);\n" % i for i in range(2000))
        + b"-- Dump completed on 2026-11-24  2:45:00\n")


def compress(data, compression):
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


def write(path, data, compression="none"):
    path.write_bytes(compress(data, compression))
    return str(path)


COMPRESSIONS = ["none", "gzip", pytest.param("zstd", marks=needs_zstd)]
EXT = {"none": "", "gzip": ".gz", "zstd": ".zst"}


# --- decompression -------------------------------------------------------------------------------

@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_open_decompressed_round_trips(tmp_path, compression):
    path = write(tmp_path / "dump.sql", DUMP * 50, compression)
    with open_decompressed(path) as stream:
        assert stream.read() == DUMP * 50


def test_open_decompressed_reads_concatenated_gzip_members(tmp_path):
    path = tmp_path / "two.sql.gz"
    path.write_bytes(gzip.compress(b"first\n") + gzip.compress(b"second\n"))
    with open_decompressed(str(path)) as stream:
        assert stream.read() == b"first\nsecond\n"


def _flip(data, offset):
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:]


GZ = gzip.compress(DUMP, mtime=0)


@pytest.mark.parametrize("damage, reason", [
    (lambda d: _flip(d, len(d) // 2), "gzip data is corrupt"),
    (lambda d: _flip(d, len(d) - 6), "gzip data is corrupt (incorrect data check)"),  # CRC-32 trailer
    (lambda d: _flip(d, len(d) - 2), "gzip data is corrupt (incorrect length check)"),  # ISIZE trailer
    (lambda d: d[:len(d) // 2], "gzip stream is truncated"),
    (lambda d: d[:-4], "gzip stream is truncated"),
    (lambda d: d + b"trailing garbage", "gzip data is corrupt"),
], ids=["body-byte", "crc", "length", "half", "no-size", "garbage-after"])
def test_damaged_gzip_names_the_file_and_the_reason(tmp_path, damage, reason):
    path = tmp_path / "db.sql.gz"
    path.write_bytes(damage(GZ))
    with pytest.raises(ArchiveError) as err:
        with open_decompressed(str(path)) as stream:
            stream.read()
    assert str(err.value).startswith(str(path) + ": ")
    assert reason in str(err.value)
    result = verify_file(str(path))
    assert result["ok"] is False and reason in result["reason"]


@needs_zstd
def test_truncated_zstd_names_the_file_and_zstds_reason(tmp_path):
    data = compress(random.Random(1).randbytes(300000), "zstd")
    path = tmp_path / "db.sql.zst"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ArchiveError) as err:
        with open_decompressed(str(path)) as stream:
            stream.read()
    assert str(err.value).startswith(str(path) + ": zstd cannot decompress it (exit 1): ")
    assert "premature end" in str(err.value)
    assert verify_file(str(path))["reason"].startswith("zstd cannot decompress it")


@needs_zstd
def test_stopping_early_does_not_hang_on_a_large_zstd(tmp_path):
    path = write(tmp_path / "big.sql.zst", DUMP * 2000, "zstd")
    with open_decompressed(path) as stream:
        assert stream.read(10) == DUMP[:10]


# --- SQL dumps -------------------------------------------------------------------------------------

INCOMPLETE = "dump is incomplete: no '-- Dump completed' trailer (cut off or failed mid-dump)"


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("content, reason", [
    (DUMP, None),
    (b"", "dump is incomplete: it is empty (mysqldump failed before writing anything)"),
    (DUMP[:len(DUMP) // 2], INCOMPLETE),
    (DUMP + b"INSERT INTO t VALUES (1);\n" * 400, INCOMPLETE),  # trailer not at the end
], ids=["complete", "empty", "cut-off", "trailer-not-last"])
def test_sql_dump_completeness(tmp_path, compression, content, reason):
    path = write(tmp_path / ("db_backup_20261123.sql" + EXT[compression]), content, compression)
    result = verify_file(path)
    assert (result["ok"], result["reason"]) == (reason is None, reason)
    assert result["format"] == "mysql-logical" and result["compression"] == compression


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_one_pass_hashes_every_raw_byte_even_when_the_content_is_bad(tmp_path, compression):
    path = write(tmp_path / ("db.sql" + EXT[compression]), DUMP[:5000], compression)
    raw = open(path, "rb").read()
    result = verify_file(path)
    assert result["ok"] is False
    assert (result["sha256"], result["size"]) == (hashlib.sha256(raw).hexdigest(), len(raw))


def test_checksum_and_size_mismatch_against_the_manifest(tmp_path):
    path = write(tmp_path / "db.sql.gz", DUMP, "gzip")
    real = hashlib.sha256(open(path, "rb").read()).hexdigest()
    result = verify_file(path, expected_sha256="0" * 64, expected_size=os.path.getsize(path))
    assert result["ok"] is False
    assert result["reason"] == ("sha256 is %s, expected %s: the file changed since the backup was made"
                                % (real, "0" * 64))
    result = verify_file(path, expected_sha256=real.upper(), expected_size=7)
    assert result["reason"].startswith("size is %d bytes, expected 7" % os.path.getsize(path))
    assert verify_file(path, expected_sha256=real, expected_size=os.path.getsize(path))["ok"] is True


def test_missing_file_and_wrong_shape(tmp_path):
    assert verify_file(str(tmp_path / "nope.sql"))["reason"] == "does not exist"
    assert verify_file(str(tmp_path), kind_hint="tar")["reason"] == "is a folder, but a tar backup is a file"
    with pytest.raises(ValueError, match="accepted: tar"):
        verify_file(str(tmp_path), kind_hint="db")


@pytest.mark.parametrize("content, reason", [(b"", "is empty (0 bytes after decompression)"),
                                             (b"\x6d\xe2\x99\x81x", None)])
def test_mongodump_archive_must_not_be_empty(tmp_path, content, reason):
    result = verify_file(write(tmp_path / "shop.archive.gz", content, "gzip"))
    assert (result["format"], result["reason"]) == ("mongodump-archive", reason)


# --- tar member safety -------------------------------------------------------------------------------

def member(name, kind=tarfile.REGTYPE, linkname="", data=b""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    return info, data


def make_tar(path, members, compression="gzip"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return write(path, buf.getvalue(), compression)


UNSAFE = [
    ([member("../x", data=b"x")], "../x", "'..' in its path climbs out of the restore root"),
    ([member("a/../../x", data=b"x")], "a/../../x", "'..' in its path"),
    ([member("/etc/x", data=b"x")], "/etc/x", "absolute path; it would be written outside the restore root"),
    ([member("link", tarfile.SYMTYPE, "/")], "link", "symlink to the absolute path '/'"),
    ([member("link", tarfile.SYMTYPE, "sub"), member("link/etc/x", data=b"x")], "link/etc/x",
     "its path goes through symlink 'link' (-> sub) earlier in the archive"),
    ([member("link", tarfile.SYMTYPE, "sub"), member("link", data=b"x")], "link", "goes through symlink 'link'"),
    ([member("a/l", tarfile.SYMTYPE, "../../x")], "a/l", "symlink to '../../x' escapes the restore root"),
    ([member("a/up", tarfile.SYMTYPE, ".."), member("b", tarfile.SYMTYPE, "a/up/..")], "b",
     "symlink to 'a/up/..' escapes the restore root"),
    ([member("h", tarfile.LNKTYPE, "../../etc/shadow")], "h", "hard link to '../../etc/shadow' escapes"),
    ([member("h", tarfile.LNKTYPE, "/etc/shadow")], "h", "hard link to the absolute path '/etc/shadow'"),
    ([member("dev/sda", tarfile.CHRTYPE)], "dev/sda", "device node"),
    ([member("dev/sdb", tarfile.BLKTYPE)], "dev/sdb", "device node"),
    ([member("queue", tarfile.FIFOTYPE)], "queue", "fifo"),
]


@pytest.mark.parametrize("members, name, reason", UNSAFE,
                         ids=["dotdot", "inner-dotdot", "absolute", "symlink-root", "through-symlink",
                              "replaces-symlink", "symlink-escape", "symlink-chain-escape", "hardlink-escape",
                              "hardlink-absolute", "chr-device", "blk-device", "fifo"])
def test_unsafe_tar_members_are_refused(tmp_path, members, name, reason):
    path = make_tar(tmp_path / "site_20261123.tar.gz", [member("ok.txt", data=b"fine")] + members)
    symlinks = {}
    with pytest.raises(ArchiveError) as err:
        for info, _data in [member("ok.txt", data=b"fine")] + members:
            check_member(info, path, symlinks)
    assert str(err.value).startswith("%s: member '%s': " % (path, name))
    assert reason in str(err.value)
    result = verify_file(path)
    assert result["ok"] is False
    assert result["reason"].startswith("member '%s': " % name) and reason in result["reason"]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_an_early_error_still_hashes_the_whole_file(tmp_path, compression):
    noise = random.Random(2).randbytes(3 * 1024 * 1024)  # incompressible: several read chunks
    path = make_tar(tmp_path / ("site.tar" + EXT[compression]), [member("../x", data=b"x"),
                                                                 member("big.bin", data=noise)], compression)
    raw = open(path, "rb").read()
    result = verify_file(path)
    assert result["reason"].startswith("member '../x': ")
    assert (result["sha256"], result["size"]) == (hashlib.sha256(raw).hexdigest(), len(raw))


def test_safe_links_inside_the_root_are_accepted(tmp_path):
    path = make_tar(tmp_path / "site.tar.gz", [
        member("wp-content", tarfile.DIRTYPE), member("wp-content/a.php", data=b"<?php"),
        member("wp-content/b.php", tarfile.LNKTYPE, "wp-content/a.php"),
        member("wp-content/latest", tarfile.SYMTYPE, "a.php"), member("top", tarfile.SYMTYPE, "wp-content/../x"),
    ])
    result = verify_file(path)
    assert result["ok"] is True, result["reason"]
    assert result["format"] == "tar" and result["entries"] == 5


# --- tree digests ----------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "wp-content" / "uploads").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    (root / "index.php").write_bytes(b"<?php // index\n")
    (root / "empty").mkdir()
    os.symlink("wp-content/uploads", root / "media")
    os.link(root / "index.php", root / "index-copy.php")
    return str(root)


def contract_digest(lines):
    """The tree digest as the contract states it, written out independently of the implementation."""
    text = "".join("%s\0%s\0%s\n" % line for line in sorted(lines, key=lambda line: line[1]))
    return hashlib.sha256(text.encode()).hexdigest()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_digest_dir_follows_the_contract(site):
    expected = contract_digest([
        ("d", "empty", ""), ("f", "index-copy.php", sha(b"<?php // index\n")),
        ("f", "index.php", sha(b"<?php // index\n")), ("l", "media", "wp-content/uploads"),
        ("d", "wp-content", ""), ("d", "wp-content/uploads", ""),
        ("f", "wp-content/uploads/a.jpg", sha(b"\xff\xd8jpeg")),
    ])
    assert digest_dir(site) == {"tree_sha256": expected, "entries": 7, "bytes": 2 * 15 + 6}


@pytest.mark.parametrize("argv", [
    ["tar", "-cf", "-", "."],                      # ./ prefix, '.' member, hard link member
    ["tar", "-cf", "-", "--no-recursion", "index.php", "index-copy.php", "media", "empty",
     "wp-content/uploads/a.jpg"],                  # no folder members for wp-content: implied
], ids=["dot-prefix", "implied-folders"])
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tar_digest_equals_the_folder_digest(tmp_path, site, argv, compression):
    data = subprocess.run(argv, cwd=site, capture_output=True, check=True).stdout
    path = write(tmp_path / "site.tar", data, compression)
    with open_decompressed(path) as stream:
        from_tar = digest_tar_stream(stream)
    assert from_tar == digest_dir(site)
    assert verify_file(path)["tree_sha256"] == from_tar["tree_sha256"]


@pytest.mark.parametrize("subpaths, exclude, names", [
    (["wp-content/uploads"], None, ["wp-content/uploads", "wp-content/uploads/a.jpg"]),
    (["./media", "index.php/"], None, ["media", "index.php"]),
    (None, ["wp-content", "empty"], ["index-copy.php", "index.php", "media"]),
    (["."], ["wp-content/uploads"], ["empty", "index-copy.php", "index.php", "media", "wp-content"]),
    (["missing"], None, []),
])
def test_subpaths_and_exclude_select_the_same_entries_from_tar_and_folder(tmp_path, site, subpaths, exclude, names):
    whole = subprocess.run(["tar", "-cf", "-", "."], cwd=site, capture_output=True, check=True).stdout
    path = write(tmp_path / "site.tar", whole)
    with open_decompressed(path) as stream:
        from_tar = digest_tar_stream(stream, subpaths=subpaths, exclude=exclude)
    from_dir = digest_dir(site, subpaths=subpaths, exclude=exclude)
    assert from_tar == from_dir and from_dir["entries"] == len(names)
    everything = {line[1]: line for line in _lines(site)}
    assert from_dir["tree_sha256"] == contract_digest([everything[n] for n in names])


def _lines(root):
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                yield ("l", rel, os.readlink(full))
            elif os.path.isdir(full):
                yield ("d", rel, "")
            else:
                yield ("f", rel, hashlib.sha256(open(full, "rb").read()).hexdigest())


def test_digest_changes_with_content_type_and_link_target(site):
    before = digest_dir(site)["tree_sha256"]
    os.unlink(os.path.join(site, "media"))
    os.symlink("wp-content", os.path.join(site, "media"))
    assert digest_dir(site)["tree_sha256"] != before


# --- folder backups ----------------------------------------------------------------------------------

MYDUMPER_METADATA = """# Started dump at: 2026-11-24 02:45:00
[config]
quote-character = BACKTICK

[`shop`.`orders`]
real_table_name=orders
rows = 3

[`shop`.`empty`]
real_table_name=empty
rows = 0
# Finished dump at: 2026-11-24 02:45:05
"""


@pytest.fixture
def mydumper(tmp_path):
    root = tmp_path / "mydumper_20261124_024500"
    root.mkdir()
    (root / "metadata").write_text(MYDUMPER_METADATA)
    write(root / "shop-schema-create.sql.gz", b"CREATE DATABASE shop;\n", "gzip")
    write(root / "shop.orders-schema.sql.gz", b"CREATE TABLE orders (id int);\n", "gzip")
    write(root / "shop.orders.00000.sql.gz", b"INSERT INTO orders VALUES (1),(2),(3);\n", "gzip")
    write(root / "shop.empty-schema.sql.gz", b"CREATE TABLE empty (id int);\n", "gzip")
    return root


def test_mydumper_folder_verifies(mydumper):
    result = verify_file(str(mydumper))
    assert result["ok"] is True, result["reason"]
    assert (result["format"], result["entries"], result["sha256"]) == ("mydumper", 5, None)
    assert result["tree_sha256"] == digest_dir(str(mydumper))["tree_sha256"]
    assert verify_file(str(mydumper), expected_sha256=result["tree_sha256"])["ok"] is True
    assert "the folder changed" in verify_file(str(mydumper), expected_sha256="1" * 64)["reason"]


@pytest.mark.parametrize("damage, reason", [
    (lambda r: (r / "metadata").write_text(MYDUMPER_METADATA.split("# Finished")[0]),
     "metadata: no 'Finished dump at' line: mydumper did not finish"),
    (lambda r: (r / "shop.orders.00000.sql.gz").unlink(),
     "shop.orders-schema.sql.gz: table shop.orders has 3 rows in metadata but no data file"),
    (lambda r: (r / "shop.orders.00000.sql.gz").write_bytes(GZ[:40]),
     "shop.orders.00000.sql.gz: gzip stream is truncated"),
])
def test_mydumper_folder_problems_name_the_file(mydumper, damage, reason):
    damage(mydumper)
    result = verify_file(str(mydumper))
    assert result["ok"] is False and result["reason"].startswith(reason)


def bson_doc(number):
    body = b"\x10n\x00" + number.to_bytes(4, "little") + b"\x00"
    return (len(body) + 4).to_bytes(4, "little") + body


@pytest.fixture
def mongodump(tmp_path):
    root = tmp_path / "mongo_20261124"
    (root / "shop").mkdir(parents=True)
    write(root / "shop" / "orders.bson.gz", bson_doc(1) + bson_doc(2), "gzip")
    write(root / "shop" / "orders.metadata.json.gz", b'{"indexes": [], "uuid": "0a1b"}', "gzip")
    (root / "shop" / "users.bson").write_bytes(b"")
    (root / "shop" / "users.metadata.json").write_text("{}")
    return root


def test_mongodump_folder_verifies(mongodump):
    result = verify_file(str(mongodump))
    assert (result["ok"], result["format"], result["reason"]) == (True, "mongodump", None)


@pytest.mark.parametrize("damage, reason", [
    (lambda r: (r / "shop" / "users.metadata.json").unlink(),
     "shop/users.bson: no users.metadata.json next to it"),
    (lambda r: (r / "shop" / "users.metadata.json").write_text('{"indexes": ['),
     "shop/users.metadata.json: is not valid JSON"),
    (lambda r: write(r / "shop" / "orders.bson.gz", bson_doc(1) + bson_doc(2)[:7], "gzip"),
     "shop/orders.bson.gz: BSON document 2 is truncated or corrupt"),
])
def test_mongodump_folder_problems_name_the_file(mongodump, damage, reason):
    damage(mongodump)
    result = verify_file(str(mongodump))
    assert result["ok"] is False and result["reason"].startswith(reason)


def test_mongodump_folder_without_collections_is_refused(mongodump):
    shutil.rmtree(mongodump / "shop")
    (mongodump / "shop").mkdir()
    result = verify_file(str(mongodump), kind_hint="mongodump")
    assert result["reason"] == "no <db>/<collection>.bson files: mongodump wrote nothing"


def test_physical_backup_needs_its_checkpoints(tmp_path):
    root = tmp_path / "mariabackup"
    root.mkdir()
    (root / "ibdata1").write_bytes(b"\0" * 1024)
    assert verify_file(str(root), kind_hint="mysql-physical")["reason"].startswith("no xtrabackup_checkpoints")
    (root / "xtrabackup_checkpoints").write_text("backup_type = full-prepared\n")
    result = verify_file(str(root))
    assert (result["ok"], result["format"]) == (True, "mysql-physical")
