#!/usr/bin/env bash
# Create/refresh the repo's .venv and the ansible-test get-pip stand-in.
# Idempotent and quiet; costs a couple of sha256sums when nothing changed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=$root/.venv
stamp=$venv/.requirements.sha256

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"

# Reinstall only when a requirements file changed (the stamp is written last, so
# an interrupted install is retried on the next run).
want=$(cd "$root" && sha256sum requirements.txt test-requirements.txt)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing requirements into $venv" >&2
    # The grep drops this machine's pip.conf noise about missing local index dirs.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$root/requirements.txt" -r "$root/test-requirements.txt" \
        2> >(grep -v 'is neither a file nor a directory' >&2)
    printf '%s\n' "$want" > "$stamp"
fi

# ansible-test would download get_pip_<ver>.py from a host we cannot reach (see
# get_pip_standin.py). Ask the installed ansible-test which pip version(s) it
# bootstraps so an ansible-core bump does not silently bring the download back.
site=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
versions=$(grep -oE "pip='[0-9.]+'" "$site/_internal/python_requirements.py" | grep -oE '[0-9.]+' | sort -u)
if [ -z "$versions" ]; then
    echo "setup: cannot find the pip version ansible-test bootstraps; update tests/tooling/setup.sh" >&2
    exit 1
fi
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
for v in $versions; do
    target=$cache/get_pip_${v//./_}.py
    cmp -s "$root/tests/tooling/get_pip_standin.py" "$target" || cp "$root/tests/tooling/get_pip_standin.py" "$target"
done
