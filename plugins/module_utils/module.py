# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PaasModule: the one base of the collection's modules.

A module declares ``argument_spec`` (built from the shared specs below, each mirrored by a doc
fragment) and implements ``run()``; errors of the engine become ``fail_json`` here, once.
"""

from __future__ import annotations

import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import parser_lib
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

# Mirrored by doc_fragments/tosca.py.
TOSCA_ARGS = dict(
    mirror=dict(type="path"),
    import_cache=dict(type="path"),
    import_timeout=dict(type="int", default=10),
)

# Template inputs whose values must never be shown (no TOSCA marker exists for secrets).
MIN_MASKED = 4
SECRET_INPUT = re.compile(r"pass(word|wd)?|secret|token|api_?key|private_?key|credential",
                          re.IGNORECASE)


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

        Ansible masks a value wherever it appears as a substring, so values shorter than
        MIN_MASKED characters (no real secret) are left alone rather than mangle every message.
        """
        for name, value in (parameters or {}).items():
            if SECRET_INPUT.search(name) and isinstance(value, (str, int, float)) \
                    and not isinstance(value, bool) and len(str(value)) >= MIN_MASKED:
                self.module.no_log_values.add(str(value))

    def run(self):
        raise NotImplementedError

    def __call__(self):
        try:
            self.run()
        except ToscaError as exc:
            self.module.fail_json(msg=str(exc), error=exc.to_dict())
