#!/bin/bash
# Publish the demo's releases to a bare git repository, the "remote" the deployments and the
# rollback's rebuilds clone from: tag r1 is app/, tag r2 is app/ with r2/ laid over it.
#
#   publish_releases.sh <fixture folder (playbooks/demo/chatbot)> <bare repository>
#
# Commit dates and authors are fixed, so the tags name the same commits on every host.
# Prints the tags it created (none when both exist).
set -euo pipefail
src=$1 repo=$2
export GIT_AUTHOR_NAME=rewind-demo GIT_AUTHOR_EMAIL=demo@rewind.invalid
export GIT_COMMITTER_NAME=rewind-demo GIT_COMMITTER_EMAIL=demo@rewind.invalid
[ -d "$repo/refs" ] || git init -q --bare "$repo"
if git -C "$repo" rev-parse -q --verify refs/tags/r2 >/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$work" init -q
cp -a "$src/app/." "$work/"
git -C "$work" add -A
GIT_AUTHOR_DATE="2025-01-06T09:00:00Z" GIT_COMMITTER_DATE="2025-01-06T09:00:00Z" git -C "$work" commit -q -m "chatbot 1.4.0"
git -C "$work" tag r1
cp -a "$src/r2/." "$work/"
# Hash every file again: cp -a keeps the mtimes and r2's package.json has the size of r1's, so
# git's stat cache (seconds only) would take it for unchanged and leave 1.4.0 in tag r2.
rm -f "$work/.git/index"
git -C "$work" add -A
GIT_AUTHOR_DATE="2025-01-20T09:00:00Z" GIT_COMMITTER_DATE="2025-01-20T09:00:00Z" git -C "$work" commit -q -m "chatbot 2.0.0: conversations"
git -C "$work" tag r2
git -C "$work" push -q "$repo" HEAD:refs/heads/main r1 r2
echo "r1 r2"
