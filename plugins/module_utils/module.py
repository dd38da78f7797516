# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PaasModule: the one base of the collection's modules.

A module declares ``argument_spec`` (built from the shared specs below, each mirrored by a doc
fragment) and implements ``run()``; errors of the engine become ``fail_json`` here, once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import EngineError
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import RankingError
from ansible_collections.paas.orchestrator.plugins.module_utils.redaction import secret_values
from ansible_collections.paas.orchestrator.plugins.module_utils.sites import SourceError
from ansible_collections.paas.orchestrator.plugins.module_utils.store import (
    StoreError,
    open_store,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import parser_lib
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

# Mirrored by doc_fragments/tosca.py.
TOSCA_ARGS = dict(
    mirror=dict(type="path"),
    import_cache=dict(type="path"),
    import_timeout=dict(type="int", default=10),
)
# Mirrored by doc_fragments/store.py. Not no_log as a whole (a masked path hides every message
# that names it): open_store() masks the password of a URL instead.
STORE_ARGS = dict(store=dict(type="str", no_log=False))
# Mirrored by doc_fragments/wait.py.
WAIT_ARGS = dict(
    wait=dict(type="bool", default=True),
    timeout=dict(type="int", default=3600),
    provider_timeout=dict(type="int"),
)
# Mirrored by doc_fragments/placement.py.
PLACEMENT_ARGS = dict(
    sources=dict(type="dict"),
    rules=dict(type="raw"),
    use_case=dict(type="str"),
    issuer=dict(type="str"),
    on_unreachable=dict(type="str", choices=["error", "warn", "skip"], default="error"),
)
# Mirrored by doc_fragments/sites.py.
SITES_ARGS = dict(
    sites=dict(type="list", elements="dict"),
    max_providers_retry=dict(type="int"),
    keep_last_attempt=dict(type="bool", default=False),
)


class PaasModule:
    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        self.module = AnsibleModule(argument_spec=self.argument_spec, **self.module_kwargs)
        self.params = self.module.params
        if parser_lib.IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib("tosca-parser"),
                                  exception=parser_lib.IMPORT_ERROR)

    def tosca_options(self):
        """Keyword arguments of tosca.loader.load from the shared TOSCA options."""
        return dict(mirror=self.params["mirror"], cache_dir=self.params["import_cache"],
                    timeout=self.params["import_timeout"])

    def hide_secret_parameters(self, parameters):
        """Mask, in everything the module returns, the values of secret-looking inputs.

        Ansible masks a value wherever it appears as a substring, so values shorter than four
        characters (no real secret) are left alone rather than mangle every message.
        """
        self.module.no_log_values.update(secret_values(parameters))

    def placement(self, user=None, group=None):
        """The placement options as a Placement, or None when no sources are given."""
        if not self.params.get("sources"):
            return None
        self.module.no_log_values.update(secret_values(self.params["sources"]))
        return Placement(self.params["sources"], rules=self.params["rules"], user=user,
                         group=group, use_case=self.params["use_case"],
                         issuer=self.params["issuer"],
                         on_unreachable=self.params["on_unreachable"])

    def open_store(self):
        """The store of the ``store`` option; closed by __call__."""
        url = self.params.get("store")
        password = urlsplit(url).password if url and "://" in url else None
        if password:
            self.module.no_log_values.add(password)
        self.store = open_store(url)
        return self.store

    def post_callback(self, url, body):
        """INDIGO's callback: POST the deployment, fire and forget (errors are warnings)."""
        import requests  # only callbacks need it

        try:
            requests.post(url, json=body, timeout=10)
        except requests.RequestException as exc:
            self.module.warn("Callback to %s failed: %s" % (url, type(exc).__name__))

    def run(self):
        raise NotImplementedError

    def __call__(self):
        self.store = None
        try:
            self.run()
        except ToscaError as exc:
            self.module.fail_json(msg=str(exc), error=exc.to_dict())
        except (StoreError, SiteConfigError, EngineError, SourceError, RankingError) as exc:
            self.module.fail_json(msg=str(exc))
        finally:
            if self.store is not None:
                self.store.close()
