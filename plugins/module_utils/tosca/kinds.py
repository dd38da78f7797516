# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-kind table: what runs a node of a given TOSCA type.

A node's kind is that of the nearest type in its ancestry with an entry here, so a custom type
derived from an INDIGO one is run like its parent. ``role`` names the collection role that
configures software of that type on its host (None: no role ships for it).
"""

from __future__ import annotations

VM = "vm"                        # a virtual machine: openstack, ec2, opennebula (local: this host)
CONTAINER = "container_service"  # a long-running container: marathon
JOB = "job"                      # a batch job: chronos, slurm, local
RUNTIME = "container_runtime"    # the resources a container or job asks for; not deployed alone
STORAGE = "storage"              # a volume or storage space attached to a VM or container
DATA = "data"                    # where input data lives (placement reads it; nothing is created)
NETWORK = "network"              # a network or port of a VM
HELM = "helm_release"            # a Helm chart on Kubernetes (recognised; no site type runs it)
SOFTWARE = "software"            # software installed on a host, configured by a role
ABSTRACT = "abstract"            # tosca.nodes.Root and anything that reaches only it

KINDS = (VM, CONTAINER, JOB, RUNTIME, STORAGE, DATA, NETWORK, HELM, SOFTWARE, ABSTRACT)

_I = "tosca.nodes.indigo."

# type -> (kind, role)
NODE_KINDS = {
    # Normative TOSCA types.
    "tosca.nodes.Root": (ABSTRACT, None),
    "tosca.nodes.Compute": (VM, None),
    "tosca.nodes.BlockStorage": (STORAGE, None),
    "tosca.nodes.ObjectStorage": (STORAGE, None),
    "tosca.nodes.StorageSystem": (STORAGE, None),
    "tosca.nodes.network.Network": (NETWORK, None),
    "tosca.nodes.network.Port": (NETWORK, None),
    "tosca.nodes.LoadBalancer": (SOFTWARE, None),
    "tosca.nodes.SoftwareComponent": (SOFTWARE, None),
    "tosca.nodes.WebServer": (SOFTWARE, None),
    "tosca.nodes.WebApplication": (SOFTWARE, None),
    "tosca.nodes.DBMS": (SOFTWARE, None),
    "tosca.nodes.Database": (SOFTWARE, None),
    "tosca.nodes.Container.Runtime": (RUNTIME, None),
    "tosca.nodes.Container.Application": (CONTAINER, None),
    # INDIGO: infrastructure.
    _I + "Compute": (VM, None),
    _I + "MonitoredCompute": (VM, None),
    _I + "BlockStorage": (STORAGE, None),
    _I + "GlusterFSVolume": (STORAGE, None),
    _I + "OneDataStorage": (STORAGE, None),
    _I + "network.Network": (NETWORK, None),
    _I + "network.Port": (NETWORK, None),
    # INDIGO: containers and jobs on Mesos, QCG, Kubernetes.
    _I + "Container.Application.Docker": (CONTAINER, None),
    _I + "Container.Application.Docker.Marathon": (CONTAINER, None),
    _I + "Container.Application.Docker.Chronos": (JOB, None),
    _I + "Container.Runtime.Docker": (RUNTIME, None),
    _I + "Batch.Job": (JOB, None),
    _I + "Grid.Job": (JOB, None),
    _I + "Qcg.Job": (JOB, None),
    _I + "Kubernetes.HelmChart": (HELM, None),
    _I + "KubernetesObject": (HELM, None),
    _I + "KubernetesSecretRegistry": (HELM, None),
    # INDIGO: where data lives.
    _I + "OnedataSpace": (DATA, None),
    _I + "OnedataServiceSpace": (DATA, None),
    _I + "Dynafed": (DATA, None),
    # INDIGO: batch systems and clusters configured on VMs.
    _I + "ElasticCluster": (SOFTWARE, None),
    _I + "LRMS.FrontEnd": (SOFTWARE, None),
    _I + "LRMS.WorkerNode": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.Slurm": (SOFTWARE, "slurm"),
    _I + "LRMS.WorkerNode.Slurm": (SOFTWARE, "slurm"),
    _I + "LRMS.FrontEnd.SlurmGalaxy": (SOFTWARE, "slurm"),
    _I + "LRMS.WorkerNode.SlurmGalaxy": (SOFTWARE, "slurm"),
    _I + "LRMS.FrontEnd.Mesos": (SOFTWARE, "mesos"),
    _I + "LRMS.WorkerNode.Mesos": (SOFTWARE, "mesos"),
    _I + "MesosMaster": (SOFTWARE, "mesos"),
    _I + "MesosSlave": (SOFTWARE, "mesos"),
    _I + "MesosLoadBalancer": (SOFTWARE, "mesos"),
    _I + "LRMS.FrontEnd.Torque": (SOFTWARE, None),
    _I + "LRMS.WorkerNode.Torque": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.HTCondor": (SOFTWARE, None),
    _I + "LRMS.WorkerNode.HTCondor": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.Kubernetes": (SOFTWARE, None),
    _I + "LRMS.WorkerNode.Kubernetes": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.Nomad": (SOFTWARE, None),
    _I + "LRMS.WorkerNode.Nomad": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.Storm": (SOFTWARE, None),
    _I + "LRMS.WorkerNode.Storm": (SOFTWARE, None),
    _I + "LRMS.FrontEnd.Local": (SOFTWARE, None),
    _I + "SparkMesos": (SOFTWARE, "spark"),
    _I + "GalaxyPortal": (SOFTWARE, "galaxy"),
    _I + "GalaxyPortalAndStorage": (SOFTWARE, "galaxy"),
    _I + "GalaxyPortalDocker": (SOFTWARE, "galaxy"),
    _I + "GalaxyPortalFastConfig": (SOFTWARE, "galaxy"),
    _I + "GalaxyShedTool": (SOFTWARE, "galaxy"),
    _I + "GalaxyReferenceData": (SOFTWARE, "galaxy"),
    _I + "GalaxyWN": (SOFTWARE, "galaxy"),
    _I + "GalaxyWNCVMFS": (SOFTWARE, "galaxy"),
    _I + "GalaxyWnToolDeps": (SOFTWARE, "galaxy"),
    _I + "GalaxyWnCvmfsReferenceData": (SOFTWARE, "galaxy"),
    # INDIGO: other software, configured by INDIGO's own Ansible roles (none ship here).
    **{
        _I + name: (SOFTWARE, None)
        for name in (
            "ARCfe", "ARCwn", "Ambertools", "AmsCondorExecuteConfig", "AmsCondorMasterConfig",
            "AmsCondorWnConfig", "AnsibleRecipe", "CmsOneclient", "CmsServices", "CmsWnConfig",
            "DEEPaaScont", "DariahRepository", "Database.MySQL", "Disvis", "Elasticsearch",
            "Eubiosteo", "HTCondorServices", "HaddockApp", "HadoopMaster", "HadoopSlave",
            "Helm.Chart", "JupyterHub", "Kepler", "Kibana", "OSCAR", "OneProvider", "OphidiaIO",
            "OphidiaServer", "Powerfit", "Pulsar", "PulsarFront", "PulsarWorker",
            "TensorflowOnMesos", "TeskAPI", "VR.CentralPoint", "VR.Client", "VR.VRouter",
            "XCache", "ZabbixAgent",
        )
    },
    # Our own type library (paas_types).
    "tosca.nodes.paas.Job": (JOB, None),
}


def classify(ancestry):
    """(kind, role) of the nearest type in ``ancestry`` (the type first, then its parents)."""
    for type_name in ancestry:
        entry = NODE_KINDS.get(type_name)
        if entry is not None:
            return entry
    return (ABSTRACT, None)
