# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Where deployments are recorded (module_utils.module.STORE_ARGS).
    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where deployments, their resources and attempts are recorded. A path (or
        C(sqlite:///path)) for a SQLite file, or C(postgresql://user:password@host:port/db) for
        a database shared by several controllers (AWX).
      - Defaults to E(PAAS_ORCHESTRATOR_STORE), else
        C(${XDG_DATA_HOME:-~/.local/share}/paas-orchestrator/store.db).
      - The password of a PostgreSQL URL is masked in everything the module returns and logs;
        it may also come from E(PGPASSWORD) or C(~/.pgpass) instead.
    type: str
"""
