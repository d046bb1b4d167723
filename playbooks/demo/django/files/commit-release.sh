#!/bin/bash
# The demo team's git steps of a deployment, in the work tree of the origin:
# tag the live release's commit PRE_DEPLOY_TAG (the plan's pre-deploy-YYYYMMDD-HHMMSS backup
# tag; "-" when nothing is live), commit release ID (project/ plus its layers) and tag it
# release-ID unless it was committed before, and push the tags and the branch.
#
#   commit-release.sh SRC WORKTREE ID LIVE_ID|- PRE_DEPLOY_TAG|- [LAYER...]
# Prints "unchanged|committed <sha of release ID>".
set -euo pipefail
src=$1 work=$2 id=$3 live=$4 pre_deploy_tag=$5
shift 5
git=(git -C "$work" -c user.name=deploy -c user.email=deploy@callcentre.example)
if [ "$live" != - ] && [ "$pre_deploy_tag" != - ]; then
  "${git[@]}" tag "$pre_deploy_tag" "release-$live"
fi
if "${git[@]}" rev-parse -q --verify "refs/tags/release-$id" >/dev/null; then
  state=unchanged
else
  rsync -a --delete --exclude=/.git "$src/project/" "$work/"
  for layer in "$@"; do
    rsync -a "$src/releases/$layer/files/" "$work/"
  done
  "${git[@]}" add -A
  "${git[@]}" commit -q --allow-empty -m "release $id"
  "${git[@]}" tag "release-$id"
  state=committed
fi
"${git[@]}" push -q --tags origin HEAD:refs/heads/main
echo "$state $("${git[@]}" rev-parse "release-$id^{commit}")"
