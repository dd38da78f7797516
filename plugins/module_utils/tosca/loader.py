# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Template text + parameters -> Topology.

tosca-parser does the type checking. Around it we add what INDIGO users need and it lacks:
imports through a mirror map and caches (its own import loader re-reads a 100 KB type file on
every call, which is most of its run time), required inputs and input constraints, string
parameters coerced to their declared types, nodes placed through ``lrms`` with no ``host`` (as
INDIGO's orchestrator accepts), cycles named, and errors that name the node at fault.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import paas_types
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import Evaluator
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.imports import (
    DEFAULT_TIMEOUT,
    ImportResolver,
    parse_definitions,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.inputs import resolve_inputs
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.kinds import classify
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.parser_lib import (
    EntityType,
    ExceptionCollector,
    NodeType,
    Property,
    ToscaTemplate,
    ValidationError,
    is_function,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import (
    Node,
    Policy,
    Requirement,
    Topology,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.yamlsafe import load_yaml

TYPE_SECTIONS = ("node_types", "capability_types", "relationship_types", "data_types",
                 "interface_types", "policy_types", "group_types", "artifact_types")
VERSION_KEY = "tosca_definitions_version"
TEXT_SOURCE = "<template text>"

# tosca-parser collects errors in a process-wide list.
_PARSER_LOCK = threading.Lock()
logging.getLogger("tosca").setLevel(logging.ERROR)


class _Parser(ToscaTemplate):
    """tosca-parser, fed with type definitions we resolved, minus one check INDIGO lacks."""

    def __init__(self, tpl, params, custom_defs):
        self._custom_defs = custom_defs
        super().__init__(yaml_dict_tpl=tpl, parsed_params=params)

    def _get_custom_types(self, type_definitions, imports=None, path=None):
        sections = type_definitions if isinstance(type_definitions, list) else [type_definitions]
        defs = {}
        for section in sections:
            defs.update(self._custom_defs.get(section, {}))
        return defs, None

    def _validate_relationship_occurences(self):
        # tosca-parser >= 2.13 also demands a `host` of every software node; INDIGO does not:
        # nodes placed through `lrms` (ElasticCluster, GalaxyPortal...) and the VRouter nodes it
        # generates itself have none. Every other bound is kept.
        for node in self.nodetemplates:
            used = [name for req in node.requirements or [] for name in req]
            for type_req in node.type_definition.get_all_requirements() or []:
                for name, spec in type_req.items():
                    low, high = (spec.get("occurrences") or [1, "UNBOUNDED"])
                    count = used.count(name)
                    if name == "host" and count == 0:
                        continue
                    if count < low or (high != "UNBOUNDED" and count > high):
                        ExceptionCollector.appendException(ValidationError(
                            message='Relationship "%s" in template "%s" has a wrong number of '
                                    'occurrences' % (name, node.name)))


def _read_template(template):
    """(parsed template, source name, local roots for relative imports)."""
    if isinstance(template, dict):
        return template, TEXT_SOURCE, ()
    if not isinstance(template, str):
        raise ToscaError("The template must be a file path or YAML text, not %s"
                         % type(template).__name__)
    if "\n" not in template and not template.lstrip().startswith("{"):
        path = os.path.abspath(os.path.expanduser(template))
        try:
            with open(path, "rb") as handle:
                text = handle.read(load_yaml.__defaults__[0] + 1)
        except OSError as exc:
            raise ToscaError("Cannot read the template: %s" % exc.strerror, source=template)
        return load_yaml(text, path), path, (os.path.dirname(path),)
    return load_yaml(template, TEXT_SOURCE), TEXT_SOURCE, ()


def _check_version(data, source):
    if not isinstance(data, dict):
        raise ToscaError("A TOSCA template must be a mapping, not a %s" % type(data).__name__,
                         source=source)
    version = data.get(VERSION_KEY)
    if version is None:
        raise ToscaError("Missing '%s'" % VERSION_KEY, source=source)
    if version not in ToscaTemplate.VALID_TEMPLATE_VERSIONS:
        raise ToscaError("Unknown %s '%s'; valid: %s" % (
            VERSION_KEY, version, ", ".join(ToscaTemplate.VALID_TEMPLATE_VERSIONS)), source=source)


def _import_refs(data, source):
    """The imports of a file as (name, reference) pairs; repositories resolved to URLs."""
    imports = data.get("imports") or []
    if not isinstance(imports, list):
        raise ToscaError("'imports' must be a list", source=source)
    repositories = data.get("repositories") or {}
    refs = []
    for entry in imports:
        name = None
        if isinstance(entry, dict) and len(entry) == 1:
            (name, entry), = entry.items()
        if isinstance(entry, dict):
            if entry.get("namespace_prefix"):
                raise ToscaError("Import '%s': namespace_prefix is not supported" % name,
                                 source=source)
            ref = entry.get("file")
            repo = entry.get("repository")
            if repo is not None:
                spec = repositories.get(repo)
                url = spec.get("url") if isinstance(spec, dict) else spec
                if not isinstance(url, str):
                    raise ToscaError("Import '%s' names repository '%s', which is not defined"
                                     % (name or ref, repo), source=source)
                ref = url.rstrip("/") + "/" + str(ref).lstrip("/")
            entry = ref
        if not isinstance(entry, str):
            raise ToscaError("Import %r is neither a file nor a URL" % (name or entry,),
                             source=source)
        refs.append((name, entry))
    return refs


def _collect_definitions(data, source, resolver):
    """Every imported definitions file, depth first, each once; import cycles are harmless."""
    seen = set()
    collected = []
    imports = []

    def visit(definitions, location):
        for _name, ref in _import_refs(definitions, location):
            target = resolver.absolute(ref, None if location == TEXT_SOURCE else location)
            if target in seen:
                continue
            seen.add(target)
            resolved = resolver.read(target, location)
            parsed = parse_definitions(resolved, resolver.cache_dir)
            _check_version(parsed, target)
            imports.append({"location": target, "origin": resolved.origin})
            visit(parsed, target)
            collected.append(parsed)

    visit(data, source)
    return collected, imports


def _merge_types(imported, template):
    defs = {section: {} for section in TYPE_SECTIONS}
    for definitions in [paas_types.definitions()] + imported + [template]:
        for section in TYPE_SECTIONS:
            entries = definitions.get(section)
            if isinstance(entries, dict):
                defs[section].update(entries)
    paas_types.extend_indigo_types(defs["node_types"])
    return defs


def _check_node_types(topology_tpl, custom_defs):
    """Name the node whose type is unknown (tosca-parser names only the type)."""
    nodes = topology_tpl.get("node_templates")
    if not isinstance(nodes, dict) or not nodes:
        raise ToscaError("topology_template has no node_templates")
    known = custom_defs["node_types"]
    for name, spec in nodes.items():
        if not isinstance(spec, dict) or "type" not in spec:
            raise ToscaError("Node template '%s' has no type" % name, node=name)
        type_name = spec["type"]
        if not isinstance(type_name, str):
            raise ToscaError("Node template '%s' has a type that is not a string" % name,
                             node=name)
        if type_name not in known and not any(
            candidate in EntityType.TOSCA_DEF
            for candidate in (type_name, "tosca.nodes." + type_name)
        ):
            raise ToscaError("Node template '%s' has unknown type '%s' (not in the imported "
                             "definitions)" % (name, type_name), node=name)


_NODE_RE = re.compile(r'template "([^"]+)"')
_FIELD_RE = re.compile(r'field "\[?\'?([^"\'\]]+)')
_PROP_RE = re.compile(r'[Pp]roperty "([^"]+)"')


def _parser_error(source):
    """The faults tosca-parser collected, without its tracebacks, as one ToscaError."""
    details = [line.strip() for line in ExceptionCollector.getExceptionsReport(False)]
    details = details or ["tosca-parser rejected the template"]
    node = next((m.group(1) for m in map(_NODE_RE.search, details) if m), None)
    prop = next((m.group(1) for d in details for m in (_FIELD_RE.search(d), _PROP_RE.search(d))
                 if m), None)
    return ToscaError(details[0], source=source, node=node, prop=prop, details=details)


def _blame(node_templates, custom_defs):
    """(node, property) of the first value that fails its type, for the bare messages
    tosca-parser gives on value errors ('"1" is not a float.')."""
    flat = {}
    for section in TYPE_SECTIONS:
        flat.update(custom_defs[section])
    for name, spec in node_templates.items():
        try:
            type_def = NodeType(spec["type"], flat)
            checks = [(None, type_def.get_properties_def(), spec.get("properties"))]
            caps = spec.get("capabilities") or {}
            checks += [(cap.name, cap.get_properties_def(), (caps.get(cap.name) or {}).get(
                "properties")) for cap in type_def.get_capabilities_objects()]
            for cap_name, defs, values in checks:
                for prop, value in (values or {}).items():
                    if prop not in defs or is_function(value):
                        continue
                    try:
                        Property(prop, value, defs[prop].schema, flat).validate()
                    except Exception:  # the same check tosca-parser failed on
                        return name, "%s.%s" % (cap_name, prop) if cap_name else prop
        except Exception:  # a broken node type: tosca-parser reported it already
            continue
    return None, None


def _ancestry(type_def):
    names = []
    while type_def is not None and getattr(type_def, "defs", None) is not None:
        names.append(type_def.type)
        type_def = type_def.parent_type
    return names


def _raw_definitions(type_name, custom_defs):
    return custom_defs["node_types"].get(type_name) or EntityType.TOSCA_DEF.get(type_name) or {}


def _merged_section(ancestry, template, section, custom_defs):
    """A section (artifacts, interfaces) merged from the root type down to the template."""
    merged = {}
    for type_name in reversed(ancestry):
        entries = _raw_definitions(type_name, custom_defs).get(section)
        if isinstance(entries, dict):
            merged.update(entries)
    entries = template.get(section)
    if isinstance(entries, dict):
        merged.update(entries)
    return merged


def _requirements(raw):
    """The requirements as the template writes them: tosca-parser turns functions in
    relationship properties into objects of its own, which we evaluate ourselves."""
    reqs = []
    for entry in raw.get("requirements") or []:
        for name, spec in entry.items():
            if isinstance(spec, dict):
                relationship = spec.get("relationship")
                rel_props = {}
                if isinstance(relationship, dict):
                    rel_props = relationship.get("properties") or {}
                    relationship = relationship.get("type")
                reqs.append(Requirement(name, spec.get("node"), spec.get("capability"),
                                        relationship, rel_props))
            else:
                reqs.append(Requirement(name, spec))
    return reqs


def _build_node(node_tpl, raw, custom_defs):
    """A Node from tosca-parser's view of its type and our (unmodified) view of its template."""
    type_def = node_tpl.type_definition
    ancestry = _ancestry(type_def)
    kind, role = classify(ancestry)
    node = Node(node_tpl.name, node_tpl.type, ancestry, kind, role)
    properties = {name: pdef.default for name, pdef in (type_def.get_properties_def() or {}).items()
                  if pdef.default is not None}
    properties.update(raw.get("properties") or {})
    node.properties = properties
    raw_caps = raw.get("capabilities") or {}
    for cap in type_def.get_capabilities_objects():
        values = {name: pdef.default for name, pdef in cap.get_properties_def().items()
                  if pdef.default is not None}
        values.update((raw_caps.get(cap.name) or {}).get("properties") or {})
        node.capabilities[cap.name] = values
    node.requirements = _requirements(raw)
    node.artifacts = _merged_section(ancestry, raw, "artifacts", custom_defs)
    node.interfaces = _merged_section(ancestry, raw, "interfaces", custom_defs)
    return node


def _build_policies(topology_tpl, custom_defs, nodes, evaluator):
    raw = topology_tpl.get("policies") or []
    if isinstance(raw, dict):
        raw = [{name: spec} for name, spec in raw.items()]
    policies = []
    for entry in raw:
        for name, spec in entry.items():
            type_name = spec.get("type")
            ancestry = []
            current = type_name
            while current and current not in ancestry:
                ancestry.append(current)
                definition = (custom_defs["policy_types"].get(current)
                              or EntityType.TOSCA_DEF.get(current) or {})
                current = definition.get("derived_from")
            targets = spec.get("targets") or []
            groups = topology_tpl.get("groups") or {}
            for target in targets:
                if target not in nodes and target not in groups:
                    raise ToscaError("Policy '%s' targets '%s', which is not a node or group"
                                     % (name, target), node=name)
            # INDIGO passes policy properties through unchecked: a get_input of an undeclared
            # input there (CredentialsAwareSlaPlacement credentials) is a warning, not an error.
            properties = evaluator.evaluate(spec.get("properties") or {}, None, None,
                                            lenient=True)
            policies.append(Policy(name, type_name, ancestry, targets, properties))
    return policies


def load(template, parameters=None, mirror=None, cache_dir=None, timeout=DEFAULT_TIMEOUT):
    """Read, resolve, validate and evaluate a template; raise ToscaError on any fault.

    ``template`` is a path, YAML text or an already parsed mapping; ``mirror`` the path of an
    import mirror map (default: the PAAS_ORCHESTRATOR_TOSCA_MIRROR environment variable);
    ``cache_dir`` where fetched imports and parsed type files are kept ("" for no disk cache).
    """
    data, source, roots = _read_template(template)
    try:
        return _load(data, source, roots, parameters, mirror, cache_dir, timeout)
    except ToscaError as exc:
        exc.source = exc.source or source
        raise


def _load(data, source, roots, parameters, mirror, cache_dir, timeout):
    _check_version(data, source)
    resolver = ImportResolver(mirror=mirror, cache_dir=cache_dir, timeout=timeout,
                              local_roots=roots)
    imported, imports = _collect_definitions(data, source, resolver)
    custom_defs = _merge_types(imported, data)
    topology_tpl = data.get("topology_template")
    if not isinstance(topology_tpl, dict):
        raise ToscaError("The template has no topology_template")
    _check_node_types(topology_tpl, custom_defs)
    input_defs, values, warnings = resolve_inputs(
        topology_tpl.get("inputs"), parameters, custom_defs["data_types"])

    # tosca-parser must not see our import list (it would fetch it again), and it rewrites
    # function calls in the template in place: it gets a copy.
    parsed = copy.deepcopy({key: value for key, value in data.items() if key != "imports"})
    with _PARSER_LOCK:
        try:
            tosca = _Parser(parsed, values, custom_defs)
        except Exception as exc:  # ValidationError, or a crash on some malformed input
            ExceptionCollector.stop()
            error = _parser_error(source)
            if not isinstance(exc, ValidationError) and not ExceptionCollector.exceptionsCaught():
                error = ToscaError("The template cannot be parsed: %s: %s"
                                   % (type(exc).__name__, exc), source=source)
            if error.node is None:
                error.node, error.prop = _blame(topology_tpl["node_templates"], custom_defs)
            raise error from None

    raw_nodes = topology_tpl["node_templates"]
    nodes = {tpl.name: _build_node(tpl, raw_nodes[tpl.name], custom_defs)
             for tpl in tosca.nodetemplates}
    # node_templates order, as INDIGO's deployment-kind inference walks it
    nodes = {name: nodes[name] for name in raw_nodes if name in nodes}
    for node in nodes.values():
        for target in dict.fromkeys(node.depends_on):
            if target not in nodes:
                raise ToscaError("Requirement of node '%s' names '%s', which is not a node "
                                 "template" % (node.name, target), node=node.name)
            nodes[target].required_by.append(node.name)

    evaluator = Evaluator(values, set(input_defs), nodes)
    for node in nodes.values():
        node.properties = {name: evaluator.property(node.name, name) for name in node.properties}
        node.capabilities = {
            cap: {name: evaluator.property(node.name, name, capability=cap) for name in props}
            for cap, props in node.capabilities.items()
        }
        for req in node.requirements:
            req.relationship_properties = evaluator.evaluate(
                req.relationship_properties, node.name, req.name)
        # INDIGO's templates pick images by input: artifacts: {image: {file: {get_input: x}}}
        node.artifacts = evaluator.evaluate(node.artifacts, node.name)
    policies = _build_policies(topology_tpl, custom_defs, nodes, evaluator)
    warnings.extend("get_input refers to '%s', which is not an input of the template; it is "
                    "left unset" % name for name in sorted(evaluator.unknown_inputs))
    outputs = {}
    for name, spec in (topology_tpl.get("outputs") or {}).items():
        if not isinstance(spec, dict) or "value" not in spec:
            raise ToscaError("Output '%s' has no value" % name, prop=name)
        outputs[name] = {"description": spec.get("description"), "value": spec["value"]}

    return Topology(source, data[VERSION_KEY], data.get("description"), data.get("metadata"),
                    input_defs, values, nodes, policies, outputs, imports, warnings, data)
