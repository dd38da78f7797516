# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The template syntax as oned's flex/bison parser reads it, and the XML it prints."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.paas.orchestrator.tests.emulators.opennebula import template as tmpl


def test_single_and_vector_attributes_comments_and_case():
    text = ('# a comment line\n'
            'name = "vm 1"   # not a comment inside the value line? it is\n'
            'cpu=0.5\n'
            'Disk = [ image_id = 3,\n  size = "10240" ]\n'
            'NIC=[NETWORK_ID=0]\n'
            'NIC = [ network = "private", network_uname = oneadmin ]\n'
            'EMPTY =\n'
            'DESCRIPTION = "two\nlines"\n')
    assert tmpl.parse(text) == [
        ["NAME", "vm 1"], ["CPU", "0.5"], ["DISK", {"IMAGE_ID": "3", "SIZE": "10240"}],
        ["NIC", {"NETWORK_ID": "0"}], ["NIC", {"NETWORK": "private", "NETWORK_UNAME": "oneadmin"}],
        ["EMPTY", ""], ["DESCRIPTION", "two\nlines"]]


def test_only_escaped_quotes_are_unescaped():
    attrs = tmpl.parse(r'A = "say \"hi\" \n \\ end"' + "\nB = [ C = \"x\\\"y\" ]\n")
    assert attrs == [["A", 'say "hi" \\n \\\\ end'], ["B", {"C": 'x"y'}]]


def test_repeated_vector_keys_keep_the_first_and_odd_names_are_fixed():
    assert tmpl.parse("V = [ K = 1, K = 2 ]\n1ST = x") == [["V", {"K": "1"}], ["ATT1ST", "x"]]


@pytest.mark.parametrize("text, error", [
    ("NAME", "unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 4:4"),
    ("A = [ B = 1, ]", "unexpected CBRACKET, expecting VARIABLE at line 1, columns 13:14"),
    ("A = 1\nB-C = 2", "unexpected VARIABLE, expecting EQUAL or EQUAL_EMPTY at line 2, "
                       "columns 8:9"),
    ("A = [ B = 1", "unexpected $end, expecting COMMA or CBRACKET at line 1, columns 11:11"),
])
def test_syntax_errors(text, error):
    with pytest.raises(tmpl.TemplateError) as exc:
        tmpl.parse(text)
    assert str(exc.value) == "Parse error: syntax error, " + error


def test_xml_templates_and_their_errors():
    text = ("<TEMPLATE><NAME><![CDATA[a&b]]></NAME><nic><NETWORK_ID>0</NETWORK_ID></nic>"
            "<EMPTY/></TEMPLATE>")
    assert tmpl.parse(text) == [["NAME", "a&b"], ["NIC", {"NETWORK_ID": "0"}], ["EMPTY", ""]]
    with pytest.raises(tmpl.TemplateError, match=r"^Parse error: XML Template malformed\.$"):
        tmpl.parse("<TEMPLATE><A></TEMPLATE>")
    # only a body *starting* with < is XML, as in Template::parse_str_or_xml
    with pytest.raises(tmpl.TemplateError):
        tmpl.parse(" <TEMPLATE/>")


def test_to_xml_sorts_and_wraps_values_in_cdata():
    xml = tmpl.to_xml("TEMPLATE", [["NIC", {"Z": "1", "A": ""}], ["CPU", "1"],
                                   ["DATA", "x]]>y<z"]])
    assert xml.startswith("<TEMPLATE><CPU><![CDATA[1]]></CPU><DATA>")
    assert "<NIC><A/><Z><![CDATA[1]]></Z></NIC>" in xml
    assert ET.fromstring(xml).find("DATA").text == "x]]>y<z"


def test_merge_replaces_by_name():
    attrs = [["A", "1"], ["NIC", {"X": "1"}], ["NIC", {"X": "2"}]]
    tmpl.merge(attrs, [["NIC", {"X": "3"}], ["B", "2"]])
    assert attrs == [["A", "1"], ["NIC", {"X": "3"}], ["B", "2"]]
