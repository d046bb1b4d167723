"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, and options match the spec."""

import ast
import glob
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = sorted(glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")))


def _docs(path):
    found = {}
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                    found[target.id] = node.value.value
    return found


@pytest.mark.parametrize("path", [p for p in PLUGINS if "/plugins/modules/" in p],
                         ids=lambda p: os.path.basename(p))
def test_module_documents_itself(path):
    docs = _docs(path)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    doc = yaml.safe_load(docs["DOCUMENTATION"])
    assert doc["module"] == os.path.basename(path)[:-3]
    assert doc["short_description"] and doc["author"] and "attributes" in doc
    examples = yaml.safe_load(docs["EXAMPLES"])
    assert all(any(k.startswith("rewind.rollback.") for k in task) for task in examples
               if not any(k.startswith("ansible.builtin.") for k in task))
    yaml.safe_load(docs["RETURN"])


@pytest.mark.parametrize("path", [p for p in PLUGINS if "/plugins/modules/" not in p and "__init__" not in p
                                  and "/module_utils/" not in p and "/doc_fragments/" not in p],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_other_plugins_parse(path):
    for text in _docs(path).values():
        yaml.safe_load(text)
