#!/usr/bin/python3
"""Give a WordPress document root the owner and modes the rewind demo expects.

    fix_perms.py ROOT OWNER GROUP [--mode RELPATH=MODE ...]

Every entry becomes OWNER:GROUP, directories 0755, files 0644, except the RELPATHs
given with --mode (wp-config.php 0640). Symbolic links keep their target's modes.
Prints {"changed": bool, "fixed": n, "paths": [first 50 paths fixed]}.
"""

import argparse
import grp
import json
import os
import pwd
import stat
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("owner")
    parser.add_argument("group")
    parser.add_argument("--mode", action="append", default=[], metavar="RELPATH=MODE")
    args = parser.parse_args()

    try:
        uid = pwd.getpwnam(args.owner).pw_uid
        gid = grp.getgrnam(args.group).gr_gid
    except KeyError as exc:
        sys.exit("fix_perms.py: unknown user or group %s" % exc)
    special = {}
    for item in args.mode:
        rel, _, mode = item.partition("=")
        special[os.path.normpath(rel)] = int(mode, 8)
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        sys.exit("fix_perms.py: %s is not a directory" % root)

    fixed = []

    def fix(path, is_dir):
        st = os.lstat(path)
        rel = os.path.relpath(path, root)
        done = False
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)
            done = True
        if not stat.S_ISLNK(st.st_mode):
            want = special.get(rel, 0o755 if is_dir else 0o644)
            if stat.S_IMODE(st.st_mode) != want:
                os.chmod(path, want)
                done = True
        if done:
            fixed.append(rel)

    fix(root, True)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            fix(path, not os.path.islink(path))
        for name in filenames:
            fix(os.path.join(dirpath, name), False)

    json.dump({"changed": bool(fixed), "fixed": len(fixed), "paths": fixed[:50]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
