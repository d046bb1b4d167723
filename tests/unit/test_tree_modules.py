# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tree_restore, tree_perms and config_restore, run in-process on real trees in tmp_path."""

import io
import os
import stat
import subprocess
import tarfile

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils._archive import digest_dir
from ansible_collections.rewind.rollback.plugins.modules import config_restore, tree_perms, tree_restore


def _make_tree(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


GOOD = {"index.php": "<?php // r1", "wp-content/plugins/p/p.php": "v1", "wp-content/themes/t/style.css": "t1",
        "wp-content/uploads/a.png": "img-a", "wp-config.php": "define('A', 1);"}
BAD = {"index.php": "<?php // r2", "wp-content/plugins/p/p.php": "v2 fatal", "wp-content/plugins/new/n.php": "n",
       "wp-content/themes/t/style.css": "t2", "wp-content/uploads/a.png": "img-a", "wp-content/uploads/b.png": "img-b",
       "wp-config.php": "define('A', 2);"}


@pytest.fixture
def site(tmp_path):
    """A backup of GOOD (tar.zst, members ./path as rewind writes them), and BAD live at www/demo."""
    good = _make_tree(tmp_path / "good", GOOD)
    archive = tmp_path / "files.tar.zst"
    subprocess.run(f"tar -C {good} -cf - . | zstd -q -c > {archive}", shell=True, check=True)
    live = _make_tree(tmp_path / "www" / "demo", BAD)
    return {"archive": str(archive), "live": str(live), "good": str(good),
            "aside": str(tmp_path / "www" / "demo.rewind-1"), "digest": digest_dir(str(good))["tree_sha256"]}


def _files(root):
    out = {}
    for parent, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(parent, name)
            with open(path) as handle:
                out[os.path.relpath(path, root)] = handle.read()
    return out


def test_whole_tree_is_swapped_and_the_live_tree_kept_aside(run, site):
    result, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"],
                    expected_tree_sha256=site["digest"])
    assert result["changed"] and result["restored"] == {".": "exchanged"}
    assert _files(site["live"]) == GOOD
    assert _files(site["aside"]) == BAD  # the snapshot: nothing lost
    again, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"] + "x",
                   expected_tree_sha256=site["digest"])
    assert not again["changed"]


def test_check_mode_changes_nothing(run, site):
    result, _ = run(tree_restore, check_mode=True, src=site["archive"], dest=site["live"],
                    snapshot_to=site["aside"])
    assert result["changed"]
    assert _files(site["live"]) == BAD and not os.path.exists(site["aside"])


def test_subpath_restores_only_that_plugin(run, site):
    result, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"],
                    subpaths=["wp-content/plugins/p"])
    assert result["restored"] == {"wp-content/plugins/p": "exchanged"}
    expected = dict(BAD, **{"wp-content/plugins/p/p.php": "v1"})
    assert _files(site["live"]) == expected
    assert _files(site["aside"]) == {"wp-content/plugins/p/p.php": "v2 fatal"}


def test_subpath_missing_from_the_backup_is_moved_aside(run, site):
    result, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"],
                    subpaths=["wp-content/plugins"])
    assert result["restored"] == {"wp-content/plugins": "exchanged"}
    assert not os.path.exists(os.path.join(site["live"], "wp-content/plugins/new"))
    assert os.path.exists(os.path.join(site["aside"], "wp-content/plugins/new/n.php"))


def test_preserve_keeps_uploads_and_config_from_the_live_site(run, site):
    run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"],
        preserve=["wp-content/uploads", "wp-config.php"])
    live = _files(site["live"])
    assert live["wp-content/uploads/b.png"] == "img-b" and live["wp-config.php"] == "define('A', 2);"
    assert live["index.php"] == GOOD["index.php"] and "wp-content/plugins/new/n.php" not in live


def test_a_snapshot_folder_swaps_back(run, site):
    run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"])
    result, _ = run(tree_restore, src=site["aside"], dest=site["live"], snapshot_to=site["aside"] + "-undo")
    assert result["changed"] and _files(site["live"]) == BAD


def test_manifest_mismatch_leaves_the_live_tree_untouched(run, site):
    result, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["aside"],
                    expected_tree_sha256="0" * 64)
    assert result["failed"] and "does not match its manifest" in result["msg"]
    assert _files(site["live"]) == BAD and not os.path.exists(site["live"] + ".rewind-new")


@pytest.mark.parametrize("name, kind", [("../escape", tarfile.REGTYPE), ("/etc/evil", tarfile.REGTYPE),
                                        ("dev", tarfile.CHRTYPE)])
def test_unsafe_members_are_refused(run, tmp_path, site, name, kind):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.size = kind, 0
        tar.addfile(info, io.BytesIO(b""))
    result, _ = run(tree_restore, src=str(bad), dest=site["live"], snapshot_to=site["aside"])
    assert result["failed"] and name.strip("/").split("/")[-1] in result["msg"]
    assert _files(site["live"]) == BAD


def test_snapshot_inside_the_live_tree_is_refused(run, site):
    result, _ = run(tree_restore, src=site["archive"], dest=site["live"], snapshot_to=site["live"] + "/old")
    assert result["failed"] and "outside the live tree" in result["msg"]


def test_perms_fix_owner_and_modes_in_one_pass_and_then_nothing(run, site):
    os.chmod(os.path.join(site["live"], "index.php"), 0o666 & ~0o002)
    os.chmod(os.path.join(site["live"], "wp-content"), 0o700)
    args = dict(path=site["live"], owner="root", group="root",
                overrides=[{"path": "wp-config.php", "mode": "0640"}])
    result, _ = run(tree_perms, **args)
    assert result["changed"] and result["fixed"] >= 3
    modes = {rel: stat.S_IMODE(os.stat(os.path.join(site["live"], rel)).st_mode)
             for rel in ("index.php", "wp-content", "wp-config.php")}
    assert modes == {"index.php": 0o644, "wp-content": 0o755, "wp-config.php": 0o640}
    again, _ = run(tree_perms, **args)
    assert not again["changed"] and again["fixed"] == 0


def test_perms_refuse_world_writable_modes(run, site):
    result, _ = run(tree_perms, path=site["live"], owner="root", group="root", file_mode="0666")
    assert result["failed"] and "world-writable" in result["msg"]


@pytest.fixture
def bundle(tmp_path):
    conf = tmp_path / "etc" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("good")
    path = tmp_path / "config.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(conf, arcname=str(conf).lstrip("/"))
    conf.write_text("bad")
    extra = tmp_path / "etc" / "extra.conf"
    extra.write_text("added by the bad release")
    return {"src": str(path), "conf": str(conf), "extra": str(extra)}


def test_config_restore_writes_only_what_differs(run, bundle):
    args = dict(src=bundle["src"], files=[bundle["conf"]], absent=[bundle["extra"]])
    result, _ = run(config_restore, **args)
    assert result["changed"] and sorted(result["restored"]) == sorted([bundle["conf"], bundle["extra"]])
    assert open(bundle["conf"]).read() == "good" and not os.path.exists(bundle["extra"])
    again, _ = run(config_restore, **args)
    assert not again["changed"]


def test_config_restore_refuses_a_file_the_bundle_lacks(run, bundle):
    result, _ = run(config_restore, src=bundle["src"], files=["/etc/not-in-bundle"])
    assert result["failed"] and "/etc/not-in-bundle" in result["msg"]
