# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which values are secrets. TOSCA has no marker for them, so names decide: an input, a site
setting or an output called like a password, token, key or credential is never stored, logged
or returned."""

from __future__ import annotations

import re

SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api_?key|private_?key|credential|"
                         r"access_?key", re.IGNORECASE)


def is_secret_name(name):
    return bool(SECRET_NAME.search(str(name)))


def public(mapping):
    """A copy of ``mapping`` without its secret-named entries (at any depth)."""
    if isinstance(mapping, dict):
        return {key: public(value) for key, value in mapping.items() if not is_secret_name(key)}
    if isinstance(mapping, list):
        return [public(item) for item in mapping]
    return mapping


def secret_values(mapping, minimum=4):
    """The values of secret-named entries (at any depth), as strings, for masking."""
    found = set()
    if isinstance(mapping, dict):
        for key, value in mapping.items():
            if is_secret_name(key) and isinstance(value, (str, int, float)) \
                    and not isinstance(value, bool):
                if len(str(value)) >= minimum:
                    found.add(str(value))
            else:
                found |= secret_values(value, minimum)
    elif isinstance(mapping, list):
        for item in mapping:
            found |= secret_values(item, minimum)
    return found
