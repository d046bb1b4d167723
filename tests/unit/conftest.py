"""Make the checkout importable as ansible_collections.rewind.rollback for unit tests."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_COLLECTIONS = os.path.join(ROOT, ".ansible", "collections")
if not os.path.exists(os.path.join(_COLLECTIONS, "ansible_collections", "rewind", "rollback")):
    subprocess.run([os.path.join(ROOT, "scripts", "link-collection.sh")], check=True)
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
