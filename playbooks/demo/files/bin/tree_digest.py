#!/usr/bin/python3
"""Print the revision of a staged release: the sha256 of its `sha256sum`-style manifest.

    tree_digest.py DIR

The manifest has one line "<sha256>  <path relative to DIR>" per regular file, sorted
by path, so the revision changes exactly when a file's content, name or presence does.
Prints {"revision": hex, "files": n}.
"""

import hashlib
import json
import os
import sys


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: tree_digest.py DIR")
    root = os.path.abspath(sys.argv[1])
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                lines.append((os.path.relpath(path, root), digest))
    manifest = "".join("%s  %s\n" % (digest, rel) for rel, digest in sorted(lines))
    json.dump({"revision": hashlib.sha256(manifest.encode()).hexdigest(), "files": len(lines)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
