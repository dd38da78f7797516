#!/usr/bin/env bash
# Refresh build/ansible_collections/paas/orchestrator from the working tree and
# print its path. ansible-test and ANSIBLE_COLLECTIONS_PATH both need the
# collection under an ansible_collections/<ns>/<name>/ directory (see sync.py).
# PAAS_BUILD_DIR (default build/) gives concurrent runs a copy each.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest=${PAAS_BUILD_DIR:-$root/build}/ansible_collections/paas/orchestrator
python3 "$root/tests/tooling/sync.py" "$root" "$dest"
echo "$dest"
