"""Offline stand-in for the get-pip.py script that ansible-test caches.

ansible-test bootstraps pip into every virtual environment it creates (sanity
tests, --venv) by running ~/.ansible/test/cache/get_pip_<version>.py, and
downloads that file from ci-files.testing.ansible.com when it is missing.
That host is not reachable from our machines (PyPI is), so setup.sh puts this
script at the cache path: it takes pip from the interpreter's bundled
ensurepip wheel and then pip-installs what ansible-test asked for
(e.g. pip==24.2) from the package index, like get-pip.py would.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys

# get-pip.py options that `pip install` does not understand.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main() -> int:
    """Bootstrap pip, then install the requested packages."""
    python = sys.executable
    subprocess.run([python, '-m', 'ensurepip', '--upgrade', '--default-pip'], check=True, stdout=subprocess.DEVNULL)

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    rc = subprocess.run([python, '-m', 'pip', 'install'] + args, check=False).returncode

    # Python 3.11's ensurepip also installs setuptools; get-pip.py would not have. Remove it so
    # the import sanity test cannot silently pass on a plugin that needs pkg_resources.
    if rc == 0 and '--no-setuptools' in sys.argv and importlib.util.find_spec('setuptools'):
        rc = subprocess.run([python, '-m', 'pip', 'uninstall', '--yes', '--quiet', 'setuptools'], check=False).returncode

    return rc


if __name__ == '__main__':
    sys.exit(main())
