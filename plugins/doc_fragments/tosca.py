# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of every plugin that loads TOSCA templates (module_utils.module.TOSCA_ARGS).
    DOCUMENTATION = r"""
options:
  mirror:
    description:
      - Path of an import mirror map, a JSON or YAML mapping of import URL to local file, for
        working offline or pinning type files. Paths in it are relative to the map file; a URL
        ending in C(/) maps every URL under it to the directory it names.
      - When not set, the environment variable E(PAAS_ORCHESTRATOR_TOSCA_MIRROR) is used.
      - Imports are resolved through this map first, then the on-disk cache, then the network.
    type: path
  import_cache:
    description:
      - Directory that keeps imports fetched from the network (by URL) and parsed type files
        (by content), so that a type file is downloaded and parsed once.
      - Defaults to E(PAAS_ORCHESTRATOR_CACHE_DIR), else C($XDG_CACHE_HOME/paas-orchestrator),
        else C(~/.cache/paas-orchestrator). An empty string disables the disk cache.
    type: path
  import_timeout:
    description:
      - Seconds to wait for an import fetched over the network.
    type: int
    default: 10
notes:
  - Local files are imported only from the template's own directory (when the template is given
    as a path) and from the directories of the mirror map; any other C(file://) URL or absolute
    path is refused.
  - Templates may use the collection's own types (C(tosca.nodes.paas.Job),
    C(tosca.policies.paas.ParameterSweep)) without importing anything.
"""
