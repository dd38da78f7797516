# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds, roles
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import Node

GALAXY = ["my.Galaxy", "tosca.nodes.indigo.GalaxyPortal", "tosca.nodes.WebServer"]


def galaxy(properties):
    node = Node("portal", GALAXY[0], GALAXY, kinds.SOFTWARE, roles.role_of(GALAXY))
    node.properties = properties
    return node


def test_a_derived_type_is_configured_by_its_parents_role():
    assert roles.role_of(GALAXY) == "galaxy"
    assert roles.role_of(["tosca.nodes.indigo.LRMS.FrontEnd.Torque"]) is None


def test_variables_are_mapped_from_known_properties_only():
    node = galaxy({"admin_email": "ops@example.org", "version": "26.1",
                   "admin_api_key": "not-for-the-store", "unknown": 1,
                   "export_dir": {"get_attribute": ["front", "private_address", 0]}})
    assert roles.role_variables(node) == {"galaxy_admin_email": "ops@example.org",
                                          "galaxy_version": "26.1"}


def test_fixed_variables_say_which_part_of_the_cluster_a_host_is():
    ancestry = ["tosca.nodes.indigo.MesosSlave", "tosca.nodes.indigo.LRMS.WorkerNode.Mesos"]
    node = Node("agent", ancestry[0], ancestry, kinds.SOFTWARE, roles.role_of(ancestry))
    node.properties = {"master_ips": ["10.0.0.1"], "enable_gpu_support": False}
    assert roles.role_variables(node) == {"mesos_role": "agent", "mesos_masters": ["10.0.0.1"],
                                          "mesos_gpu_support": False}


def test_every_mapped_type_is_software():
    for type_name in roles.ROLES:
        assert kinds.classify([type_name, "tosca.nodes.SoftwareComponent"])[0] == kinds.SOFTWARE


def test_a_host_configuration_lists_each_role_once_with_every_variable():
    front = ["tosca.nodes.indigo.LRMS.FrontEnd.Slurm"]
    slurm = Node("lrms", front[0], front, kinds.SOFTWARE, roles.role_of(front))
    slurm.properties = {"wn_num": 4}
    portal = galaxy({"version": "26.1"})
    assert roles.configuration([slurm, portal, slurm]) == (
        ["slurm", "galaxy"],
        {"slurm_role": "controller", "slurm_max_workers": 4, "galaxy_version": "26.1"})
