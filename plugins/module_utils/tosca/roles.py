# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one mapping from TOSCA software types to the collection's roles and their variables.

A software node is configured by the role of the nearest type in its ancestry listed here (so a
custom type derived from ``LRMS.FrontEnd.Slurm`` gets the slurm role). Its host gets the role's
variables: the fixed ones of the type (which part of the cluster it is) and those read from the
node's properties. Properties that only exist once the deployment runs (``get_attribute``: the
front end's address, the workers' list) are not mapped: the roles read them from the inventory
groups. Secret-named properties (passwords, API keys) are never mapped, since host variables come
from the store, which keeps no secrets: the roles take them as play variables (``no_log``).
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.redaction import is_secret_name
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import is_deferred

_I = "tosca.nodes.indigo."
_P = "tosca.nodes.paas."

_SLURM_CONTROLLER = ("slurm", {"slurm_role": "controller"}, {"wn_num": "slurm_max_workers"})
_SLURM_WORKER = ("slurm", {"slurm_role": "worker"}, {})
_GALAXY = ("galaxy", {}, {
    "admin_email": "galaxy_admin_email", "user": "galaxy_user",
    "install_path": "galaxy_install_path", "export_dir": "galaxy_export_dir",
    "version": "galaxy_version", "instance_description": "galaxy_brand",
})
# INDIGO's mesos_masters_list defaults to [127.0.0.1]: the masters come from the inventory instead
_MESOS_MASTER = ("mesos", {"mesos_role": "master"}, {
    "mesos_authenticate_http": "mesos_authenticate_http",
    "mesos_username": "mesos_username", "marathon_username": "marathon_username",
    "enable_chronos": "mesos_enable_chronos", "chronos_username": "chronos_username",
    "enable_gpu_support": "mesos_gpu_support",
})
_MESOS_AGENT = ("mesos", {"mesos_role": "agent"}, {
    "master_ips": "mesos_masters", "enable_gpu_support": "mesos_gpu_support",
})

# type -> (role, fixed variables, {TOSCA property: role variable})
ROLES = {
    _I + "LRMS.FrontEnd.Slurm": _SLURM_CONTROLLER,
    _I + "LRMS.FrontEnd.SlurmGalaxy": _SLURM_CONTROLLER,
    _I + "LRMS.WorkerNode.Slurm": _SLURM_WORKER,
    _I + "LRMS.WorkerNode.SlurmGalaxy": _SLURM_WORKER,
    _I + "GalaxyPortal": _GALAXY,
    _I + "GalaxyPortalAndStorage": _GALAXY,
    _I + "GalaxyPortalFastConfig": _GALAXY,
    _I + "LRMS.FrontEnd.Mesos": _MESOS_MASTER,
    _I + "MesosMaster": _MESOS_MASTER,
    _I + "LRMS.WorkerNode.Mesos": _MESOS_AGENT,
    _I + "MesosSlave": _MESOS_AGENT,
    _I + "MesosLoadBalancer": ("mesos", {"mesos_role": "load_balancer"}, {}),
    _I + "SparkMesos": ("spark", {"spark_role": "mesos_dispatcher"}, {
        "zookeeper_peers": "spark_mesos_zookeeper", "spark_cores_max": "spark_cores_max",
        "spark_executor_cores": "spark_executor_cores",
        "spark_executor_mem": "spark_executor_memory", "spark_driver_mem": "spark_driver_memory",
        "spark_driver_cores": "spark_driver_cores",
    }),
    _P + "Spark.Master": ("spark", {"spark_role": "master"}, {
        "port": "spark_master_port", "webui_port": "spark_master_webui_port",
    }),
    _P + "Spark.Worker": ("spark", {"spark_role": "worker"}, {
        "cores": "spark_worker_cores", "memory": "spark_worker_memory",
    }),
}


def role_of(ancestry):
    """The role of the nearest listed type in ``ancestry``, or None."""
    for type_name in ancestry:
        entry = ROLES.get(type_name)
        if entry is not None:
            return entry[0]
    return None


def role_variables(node):
    """The host variables ``node`` (a software Node with evaluated properties) gives its role."""
    for type_name in node.ancestry:
        entry = ROLES.get(type_name)
        if entry is not None:
            _role, fixed, mapped = entry
            variables = dict(fixed)
            for prop, variable in mapped.items():
                value = node.properties.get(prop)
                if value is not None and not is_deferred(value) and not is_secret_name(prop):
                    variables[variable] = value
            return variables
    return {}


def configuration(software):
    """(roles, variables) of a host running ``software`` (its hosted nodes in creation order):
    each role once, in that order, and the variables of them all (a later node's win)."""
    variables = {}
    for node in software:
        variables.update(role_variables(node))
    return list(dict.fromkeys(node.role for node in software)), variables
