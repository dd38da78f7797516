# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenNebula templates: the attribute syntax oned parses and the XML it prints.

A template is a list of ``[NAME, value]`` pairs, value a ``str`` (single attribute) or a
``dict`` of ``str`` (vector attribute); names repeat (several NIC, DISK). Lists of lists keep
it JSON-serialisable for the state file. Parsing follows src/template/template_parser.l and
template_syntax.y: names upper-cased, ``\\"`` the only escape in quoted values, ``#`` comments,
and a body starting with ``<`` taken as XML (what pyone sends for a nested dict).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["TemplateError", "parse", "attribute_xml", "to_xml", "get", "get_all", "remove",
           "merge", "cdata"]


class TemplateError(ValueError):
    """What Template::parse_str_or_xml puts in the response ("Parse error: ...")."""


_BLANK = " \t"
_VARIABLE = re.compile(r"[A-Za-z0-9_]+")
_QUOTED = re.compile(r'"((?:\\"|[^"])*)"')
_BARE = re.compile(r'[^=# \t\n,\[\]]+')
_EQUAL_EMPTY = re.compile(r"[ \t]*=[ \t]*\n")
_EQUAL = re.compile(r"[ \t]*=[ \t]*")
_COMMA = re.compile(r"[ \t\n]*,[ \t\n]*")
_CBRACKET = re.compile(r"[ \t\n]*\][ \t\n]*")
_OBRACKET = re.compile(r"[ \t]*\[[ \t\n]*")
_SKIP = re.compile(r"[ \t]*#[^\n]*(\n|$)|[ \t\n]+")


def _tokens(text):
    """Yield (kind, value, start, end) as the flex scanner does; VALUE is its start state."""
    pos, in_value = 0, False
    while pos < len(text):
        if in_value:
            in_value = False
            match = _OBRACKET.match(text, pos)
            if match:
                yield "OBRACKET", None, pos, match.end()
            else:
                line_end = text.find("\n", pos)
                if "]]>" in text[pos:line_end if line_end >= 0 else len(text)]:
                    yield "CCDATA", None, pos, pos
                    return
                match = _QUOTED.match(text, pos) or _BARE.match(text, pos)
                if not match:
                    # flex's default rule echoes an unmatched character and goes on
                    pos += 1
                    continue
                value = match.group(1) if match.re is _QUOTED else match.group(0)
                yield "STRING", value.replace('\\"', '"'), pos, match.end()
            pos = match.end()
            continue
        match = _SKIP.match(text, pos)
        if match:
            pos = match.end()
            continue
        for kind, regex in (("VARIABLE", _VARIABLE), ("EQUAL_EMPTY", _EQUAL_EMPTY),
                            ("EQUAL", _EQUAL), ("COMMA", _COMMA), ("CBRACKET", _CBRACKET)):
            match = regex.match(text, pos)
            if match:
                yield kind, match.group(0), pos, match.end()
                in_value = kind == "EQUAL"
                pos = match.end()
                break
        else:
            pos += 1
    yield "$end", None, pos, pos


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = _tokens(text)
        self.current = next(self.tokens)

    def take(self, *expected):
        kind, value, start, end = self.current
        if kind not in expected:
            line = self.text.count("\n", 0, start) + 1
            raise TemplateError(
                "Parse error: syntax error, unexpected %s, expecting %s at line %d, columns %d:%d"
                % (kind, " or ".join(expected), line, start, end))
        self.current = next(self.tokens)
        return kind, value

    def attributes(self):
        attrs = []
        while self.current[0] != "$end":
            name = self.take("VARIABLE")[1]
            if self.take("EQUAL", "EQUAL_EMPTY")[0] == "EQUAL_EMPTY":
                attrs.append([_attr_name(name), ""])
                continue
            kind, value = self.take("OBRACKET", "CCDATA", "STRING")
            if kind == "CCDATA":
                # YYABORT leaves no message behind
                raise TemplateError("Parse error.")
            if kind == "OBRACKET":
                value = {}
                while True:
                    key = self.take("VARIABLE")[1]
                    self.take("EQUAL")
                    item = self.take("STRING")[1]
                    # a std::map insert: the first value of a repeated key stays
                    value.setdefault(key.upper(), item)
                    if self.take("COMMA", "CBRACKET")[0] == "CBRACKET":
                        break
            attrs.append([_attr_name(name), value])
        return attrs


def _attr_name(name):
    name = name.upper()
    # Attribute's constructor makes names that cannot be XML elements valid
    return "ATT" + name if name[:1].isdigit() or name[:1] in ".-" else name


def parse(text):
    """Template::parse_str_or_xml: the attributes of ``text`` or TemplateError."""
    if text.startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise TemplateError("Parse error: XML Template malformed.") from exc
        attrs = []
        for child in root:
            if len(child):
                attrs.append([_attr_name(child.tag),
                              {item.tag: item.text or "" for item in child}])
            else:
                attrs.append([_attr_name(child.tag), child.text or ""])
        return attrs
    return _Parser(text).attributes()


def cdata(value):
    """A CDATA section as Attribute::to_xml writes it (``]]>`` split so that it survives)."""
    return "<![CDATA[%s]]>" % value.replace("]]>", "]]]]><![CDATA[>")


def attribute_xml(name, value):
    """Attribute::to_xml: CDATA values, a vector's keys sorted (a std::map)."""
    if isinstance(value, dict):
        return "<%s>%s</%s>" % (name, "".join(
            "<%s/>" % key if value[key] == "" else "<%s>%s</%s>" % (key, cdata(value[key]), key)
            for key in sorted(value)), name)
    return "<%s>%s</%s>" % (name, cdata(value), name)


def to_xml(root, attrs):
    """Template::to_xml: attributes sorted by name (a std::multimap)."""
    return "<%s>%s</%s>" % (root, "".join(
        attribute_xml(name, value) for name, value in sorted(attrs, key=lambda p: p[0])), root)


def get(attrs, name, default=None):
    """The first value of ``name``."""
    for key, value in attrs:
        if key == name:
            return value
    return default


def get_all(attrs, name):
    return [value for key, value in attrs if key == name]


def remove(attrs, name):
    """Erase every ``name``; returns their values."""
    values = get_all(attrs, name)
    attrs[:] = [pair for pair in attrs if pair[0] != name]
    return values


def merge(attrs, other):
    """Template::merge: each attribute of ``other`` replaces those of the same name."""
    for name in {pair[0] for pair in other}:
        remove(attrs, name)
    attrs.extend([key, value] for key, value in other)
