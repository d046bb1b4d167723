# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the ``rewind.rollback`` collection the CLI drives, and import its module_utils.

From a checkout (``pip install -e .``) the collection is the checkout itself: it is linked as
``.ansible/collections/ansible_collections/rewind/rollback`` (what scripts/link-collection.sh
does). Otherwise the installed collection is searched on ``sys.path`` (an execution environment
installs it into site-packages) and in Ansible's collection paths.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import tempfile
from pathlib import Path

_NAME = Path("ansible_collections", "rewind", "rollback")
_DEFAULT_PATHS = ("~/.ansible/collections", "/usr/share/ansible/collections")


class CollectionNotFound(RuntimeError):
    """The rewind.rollback collection is nowhere the CLI looks."""


def _checkout_root():
    root = Path(__file__).resolve().parents[2]
    if (root / "galaxy.yml").is_file() and (root / "plugins" / "callback" / "timeline.py").is_file():
        return root
    return None


def _link_checkout(root):
    """A collections folder holding a link to the checkout; .ansible/collections when writable."""
    for base in (root / ".ansible" / "collections", Path(tempfile.mkdtemp(prefix="rewind-collections-"))):
        link = base / _NAME
        try:
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                target = "../../../.." if base.parent.parent == root else str(root)
                link.symlink_to(target, target_is_directory=True)
            if link.resolve() == root:
                return base
        except OSError:
            continue
    raise CollectionNotFound("cannot link the checkout %s as rewind.rollback; run scripts/link-collection.sh" % root)


def configured_paths():
    """The collection paths Ansible would search besides ours (ANSIBLE_COLLECTIONS_PATH or its defaults)."""
    value = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS")
    paths = value.split(os.pathsep) if value else list(_DEFAULT_PATHS)
    return [str(Path(p).expanduser()) for p in paths if p]


@functools.lru_cache(maxsize=None)
def collections_dir():
    """The folder ``D`` such that ``D/ansible_collections/rewind/rollback`` is the collection."""
    root = _checkout_root()
    if root is not None:
        return _link_checkout(root)
    for path in list(sys.path) + configured_paths():
        if path and (Path(path) / _NAME / "plugins" / "callback" / "timeline.py").is_file():
            return Path(path)
    raise CollectionNotFound(
        "the rewind.rollback collection is not installed: install it "
        "(ansible-galaxy collection install rewind-rollback-*.tar.gz) or run rewind from a checkout")


def collection_root():
    """The collection's own folder (the checkout, or the installed copy)."""
    return (collections_dir() / _NAME).resolve()


def module_utils(name):
    """Import ``ansible_collections.rewind.rollback.plugins.module_utils.<name>``."""
    path = str(collections_dir())
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("ansible_collections.rewind.rollback.plugins.module_utils.%s" % name)
