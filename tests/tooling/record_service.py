# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record how to reach a test service in services.json (ansible-test passes no environment
variables to the tests, so they read this file): ``python3 record_service.py PATH NAME JSON``.

Sets key NAME, keeping the others, under a lock file and with an atomic rename, so that
concurrent writers (services.sh, swift.sh, openstack/provision.py) never lose or half-write a
key. The file holds passwords: mkstemp makes it 0600. Standard library only (it also runs
under Debian's /usr/bin/python3).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import tempfile


def merge_key(path, name, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            data = {}
        data[name] = value
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".services-")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)


if __name__ == "__main__":
    merge_key(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
