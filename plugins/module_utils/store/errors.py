# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store's errors: callers catch StoreError, or one of its two kinds they can act on."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot be opened or used, or a value given to it is invalid."""


class ConflictError(StoreError):
    """A concurrent change won (stale version, duplicate key, lock held too long): re-read and
    retry. INDIGO answers these with 409 and ``Retry-After: 0``."""


class NotFound(StoreError):
    """The deployment, resource or attempt named does not exist."""
