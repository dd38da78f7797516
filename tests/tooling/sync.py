"""Mirror the collection's source tree into build/ansible_collections/paas/orchestrator.

ansible-test only works when the collection sits at .../ansible_collections/<ns>/<name>/
and refuses symlinks, so we keep a real copy. The file list comes from git (tracked plus
untracked-but-not-ignored files) so the copy matches what would be committed, without
needing rsync on the machine. Files that disappeared from the source are deleted from
the copy; tests/output in the copy (ansible-test's results) is kept.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

EXCLUDED = ('.git', '.venv', 'build', 'tests/output')


def source_files(root: str) -> set[str]:
    """Return the relative paths of the files that belong to the collection."""
    try:
        out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             cwd=root, check=True, capture_output=True).stdout.decode()
        paths = set(out.split('\0')) - {''}
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an unpacked tarball)
        paths = set()
        for base, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d != '__pycache__' and os.path.relpath(os.path.join(base, d), root) not in EXCLUDED]
            paths.update(os.path.relpath(os.path.join(base, n), root) for n in entries(base, dirs, names))
    return {p for p in paths
            if os.path.lexists(os.path.join(root, p)) and not any(p == e or p.startswith(e + '/') for e in EXCLUDED)}


def entries(base: str, dirs: list[str], names: list[str]) -> list[str]:
    """Return the non-directory entries os.walk found in base (it lists directory symlinks as dirs)."""
    return names + [d for d in dirs if os.path.islink(os.path.join(base, d))]


def main() -> None:
    """Bring the copy in line with the source tree."""
    root = os.path.abspath(sys.argv[1])
    dest = os.path.abspath(sys.argv[2])
    wanted = source_files(root)

    # Delete first, so a file that became a directory (or the reverse) can be copied.
    for base, dirs, names in os.walk(dest, topdown=False):
        rel_base = os.path.relpath(base, dest)
        if rel_base == 'tests/output' or rel_base.startswith('tests/output/'):
            continue
        for name in entries(base, dirs, names):
            if os.path.normpath(os.path.join(rel_base, name)) not in wanted:
                os.unlink(os.path.join(base, name))
        if base != dest and not os.listdir(base):
            os.rmdir(base)

    for rel in sorted(wanted):
        src, dst = os.path.join(root, rel), os.path.join(dest, rel)
        st = os.lstat(src)
        try:
            dt = os.lstat(dst)
            if (dt.st_size, dt.st_mtime_ns, dt.st_mode) == (st.st_size, st.st_mtime_ns, st.st_mode):
                continue
            os.unlink(dst)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


if __name__ == '__main__':
    main()
