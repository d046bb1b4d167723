"""Make the checkout importable as ansible_collections.rewind.rollback for unit tests."""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_COLLECTIONS = os.path.join(ROOT, ".ansible", "collections")
if not os.path.exists(os.path.join(_COLLECTIONS, "ansible_collections", "rewind", "rollback")):
    subprocess.run([os.path.join(ROOT, "scripts", "link-collection.sh")], check=True)
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
# This checkout's rewind package, whichever checkout the venv's editable install points at.
sys.path.insert(0, os.path.join(ROOT, "src"))


import pytest  # noqa: E402  (after the path set-up above)


@pytest.fixture
def run(capsys, monkeypatch):
    """run(module, check_mode=False, diff=False, **args) -> (result, warning messages).

    Runs a module's main() in-process with real arguments, as Ansible would.
    """
    from ansible.module_utils import _internal
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.testing import patch_module_args

    def _run(module, check_mode=False, diff=False, **args):
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})  # warnings are process-global
        # Importing ansible.errors (filter tests do) marks the process as the controller, and module
        # warnings would then go to the controller's display instead of the result.
        monkeypatch.setattr(_internal, "is_controller", False)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        result = json.loads(capsys.readouterr().out)
        return result, [w["event"]["msg"] for w in result.pop("warnings", [])]
    return _run
