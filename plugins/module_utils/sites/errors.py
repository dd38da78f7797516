# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors of the placement sources."""

from __future__ import annotations

import json


class SourceError(Exception):
    """A source that is wrong or failed; ``str()`` names it (and its redacted URL or file).

    ``source`` is the key of the ``sources`` dict (``cmdb``, ``slam``, ``monitoring``,
    ``onezone``, ``sites_file``), ``url`` the redacted base URL or the file path, ``status`` the
    HTTP status when a server answered with an error.
    """

    def __init__(self, message, source=None, url=None, status=None):
        super().__init__(message)
        self.source = source
        self.url = url
        self.status = status


class SourceUnreachable(SourceError):
    """The source gave no usable answer at all (no connection, timeout, 502/503/504).

    Only this kind obeys ``on_unreachable``: any other SourceError is raised whatever the policy,
    because it means the configuration or the data is wrong, not that a service is down.
    """


def read_json_file(path, source, label):
    """A local INDIGO data file (cmdb.db, slam.db: JSON despite the name), or a SourceError that
    names it (``label``: "CMDB", "SLAM")."""
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except OSError as exc:
        raise SourceError("%s file %s cannot be read: %s" % (label, path, exc.strerror),
                          source=source, url=path) from None
    except ValueError:
        raise SourceError("%s file %s is not JSON" % (label, path), source=source,
                          url=path) from None
