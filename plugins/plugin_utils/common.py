# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers shared by the lookup and inventory plugins."""

from __future__ import annotations

from ansible.errors import AnsibleLookupError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import RankingError
from ansible_collections.paas.orchestrator.plugins.module_utils.sites import SourceError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError


def unsafe(data):
    """Data from templates and remote services, marked so that Jinja never evaluates it."""
    return wrap_var(data)


def tosca_options(plugin):
    """Keyword arguments of tosca.loader.load from the shared TOSCA options of a plugin."""
    return dict(mirror=plugin.get_option("mirror"), cache_dir=plugin.get_option("import_cache"),
                timeout=plugin.get_option("import_timeout"))


def engine_errors(func):
    """Run ``func``; errors of the engine (bad template, source, rules) become
    AnsibleLookupError with their message."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ToscaError, SourceError, RankingError) as exc:
            raise AnsibleLookupError(str(exc)) from None
    return wrapper
