# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records what a check-mode run with --diff would write, so that a test can assert the
configuration a role renders without parsing the screen: per host, each file's content (the
diff's "after") and the names of the tasks that would change something. Written as JSON to
$RENDERED_JSON when the playbook ends."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: rendered
type: aggregate
short_description: Records the files a check-mode run would write (a test fixture)
description:
  - "Writes C({host: {files: {path: content}, changed: [task names]}}) to E(RENDERED_JSON)."
requirements:
  - enabled through C(callbacks_enabled); run with C(--diff)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rendered"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hosts = {}

    def _record(self, result):
        host = self._hosts.setdefault(result._host.get_name(), {"files": {}, "changed": []})
        outcome = result._result
        if outcome.get("changed") and result._task.get_name() not in host["changed"]:
            host["changed"].append(result._task.get_name())
        diffs = outcome.get("diff") or []
        for diff in diffs if isinstance(diffs, list) else [diffs]:
            after = diff.get("after")
            if isinstance(after, str):
                # a template's diff names its source: the destination is in the task's args
                path = result._task_fields.get("args", {}).get("dest") or diff.get("after_header")
                host["files"][path] = after

    def v2_runner_on_ok(self, result):
        if "results" not in result._result:
            self._record(result)

    def v2_runner_item_on_ok(self, result):
        self._record(result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["RENDERED_JSON"], "w") as handle:
            json.dump(self._hosts, handle, indent=1, sort_keys=True)
