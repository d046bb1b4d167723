#!/usr/bin/env bash
# The chatbot tier's test image, local/debian12:rewind-chatbot: the harness's stack image plus
# wine64, SecantusDB, the MongoDB Database Tools wheel, pymongo and PM2 (scripts/chatbot.Dockerfile),
# so that tests/integration/test_chatbot.py, molecule/chatbot and tests/bench share one install of
# them per machine instead of one per host and run.
#
#   scripts/chatbot-image.sh        build it unless it is up to date; prints its name
#
# Up to date means: its label org.rewind.content-hash equals the SHA-256 of the Dockerfile, the
# versions (from playbooks/demo/chatbot/vars/demo.yml) and the stack image's id, so it is
# rebuilt when any of them changes (a new CA layer of the stack image included). Needs the
# harness (scripts/harness.sh); takes about a minute and a half when it builds, well under a
# second when it does not.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${DOCKER_HOST:-}" ] || eval "$("$ROOT/scripts/harness.sh" env)"
PARENT=local/debian12:rewind
IMAGE=local/debian12:rewind-chatbot
VARS=$ROOT/playbooks/demo/chatbot/vars/demo.yml

version() {  # version NAME: the value of chatbot_demo_NAME_version in the demo's vars
  local v
  v=$(sed -n "s/^chatbot_demo_$1_version: *\"\{0,1\}\([^\" ]*\)\"\{0,1\} *$/\1/p" "$VARS")
  [ -n "$v" ] || { echo "chatbot-image: no chatbot_demo_$1_version in $VARS" >&2; exit 1; }
  echo "$v"
}

parent_id=$(docker image inspect -f '{{.Id}}' "$PARENT" 2>/dev/null) \
  || { echo "chatbot-image: $PARENT is missing: run scripts/harness.sh first" >&2; exit 1; }
args=(--build-arg "SECANTUS_VERSION=$(version secantus)" --build-arg "MONGOTOOLS_VERSION=$(version mongotools)"
      --build-arg "PYMONGO_VERSION=$(version pymongo)" --build-arg "PM2_VERSION=$(version pm2)")
hash=$( { cat "$ROOT/scripts/chatbot.Dockerfile"; printf '%s\n' "${args[@]}" "$parent_id"; } | sha256sum | cut -c1-32)

if [ "$(docker image inspect -f '{{index .Config.Labels "org.rewind.content-hash"}}' "$IMAGE" 2>/dev/null)" != "$hash" ]; then
  echo "[chatbot-image $(date +%T)] docker build $IMAGE ($hash)" >&2
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp "$ROOT/scripts/chatbot.Dockerfile" "$context/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q "${args[@]}" --label "org.rewind.content-hash=$hash" -t "$IMAGE" "$context" >/dev/null
fi
echo "$IMAGE"
