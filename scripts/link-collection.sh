#!/usr/bin/env bash
# Make this checkout importable as the collection rewind.rollback without installing it:
# .ansible/collections/ansible_collections/rewind/rollback -> the repository root.
# ansible.cfg puts .ansible/collections first on collections_path. Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$ROOT/.ansible/collections/ansible_collections/rewind"
ln -sfn ../../../.. "$ROOT/.ansible/collections/ansible_collections/rewind/rollback"
