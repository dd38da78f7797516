# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML reading with limits: size, and expanded size (so an alias bomb is refused, not walked)."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

try:
    import yaml
except ImportError:  # reported by PaasModule through parser_lib.IMPORT_ERROR
    yaml = None
    _Loader = None
else:
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it

MAX_TEMPLATE_BYTES = 2 * 1024 * 1024
MAX_TYPES_BYTES = 16 * 1024 * 1024
# Nodes of the document once every alias is expanded: the largest INDIGO type file has ~30,000.
MAX_EXPANDED_NODES = 2_000_000


def _expanded_size(root):
    """Nodes the document would have with its aliases expanded, memoised per node object."""
    sizes = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = (
            [child for pair in node.value for child in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            total = 1
            for child in children:
                total += sizes.get(id(child), 0)
            sizes[key] = min(total, MAX_EXPANDED_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def parse_trusted(text):
    """Parse YAML that ships with the collection (no limits needed)."""
    return yaml.load(text, Loader=_Loader)


def load_yaml(text, source, max_bytes=MAX_TEMPLATE_BYTES):
    """Parse one YAML document safely; every failure is a ToscaError naming ``source``."""
    if isinstance(text, bytes):
        size = len(text)
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ToscaError(
            "Template is %d bytes, over the limit of %d bytes" % (size, max_bytes), source=source
        )
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ToscaError("Template is empty", source=source)
        if _expanded_size(root) > MAX_EXPANDED_NODES:
            raise ToscaError(
                "YAML aliases expand to more than %d nodes (an alias bomb?)" % MAX_EXPANDED_NODES,
                source=source,
            )
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ToscaError("Not valid YAML%s: %s" % (where, problem), source=source) from None
    finally:
        loader.dispose()
