#!/usr/bin/env bash
# Run the venv's ansible-test against a fresh copy of the collection:
#   tests/tooling/ansible-test.sh units --python 3.11 tests/unit/plugins/modules/test_x.py
# Paths given to ansible-test are relative to the collection root, as usual.
# Results land in build/ansible_collections/paas/orchestrator/tests/output/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$root/tests/tooling/setup.sh"
dest=$("$root/tests/tooling/sync.sh")

# build/ is inside this repo's git work tree, and ansible-test walks up from the
# collection looking for .git; it would then ask git for the files under build/,
# which .gitignore hides, and see an empty collection. Pinning the content root
# makes it list the copied files directly.
export ANSIBLE_TEST_CONTENT_ROOT=$dest
export PATH=$root/.venv/bin:$PATH
cd "$dest"
exec ansible-test "$@"
