"""The collection artifact: builds, and carries no tests, CI or development files."""

import os
import subprocess
import sys
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_the_artifact_has_the_collection_and_nothing_of_the_tests(tmp_path):
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path), ROOT],
                   check=True, capture_output=True)
    (artifact,) = tmp_path.glob("rewind-rollback-*.tar.gz")
    names = tarfile.open(artifact).getnames()
    for wanted in ("MANIFEST.json", "meta/runtime.yml", "plugins/modules/snapshot.py",
                   "roles/wordpress/tasks/main.yml", "playbooks/rollback.yml"):
        assert wanted in names
    for unwanted in ("tests/", "molecule/", ".ci/", "scripts/", "src/", ".ansible/"):
        assert not [n for n in names if n.startswith(unwanted)], unwanted
