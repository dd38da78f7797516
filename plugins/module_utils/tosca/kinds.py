# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-kind table: what runs a node of a given TOSCA type.

A node's kind is that of the nearest type in its ancestry with an entry here, so a custom type
derived from an INDIGO one is run like its parent. The role that configures software on its
host comes from the roles mapping (``tosca/roles.py``).
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import roles

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

# type -> kind
NODE_KINDS = {
    # Normative TOSCA types.
    "tosca.nodes.Root": ABSTRACT,
    "tosca.nodes.Compute": VM,
    "tosca.nodes.BlockStorage": STORAGE,
    "tosca.nodes.ObjectStorage": STORAGE,
    "tosca.nodes.StorageSystem": STORAGE,
    "tosca.nodes.network.Network": NETWORK,
    "tosca.nodes.network.Port": NETWORK,
    "tosca.nodes.LoadBalancer": SOFTWARE,
    "tosca.nodes.SoftwareComponent": SOFTWARE,
    "tosca.nodes.WebServer": SOFTWARE,
    "tosca.nodes.WebApplication": SOFTWARE,
    "tosca.nodes.DBMS": SOFTWARE,
    "tosca.nodes.Database": SOFTWARE,
    "tosca.nodes.Container.Runtime": RUNTIME,
    "tosca.nodes.Container.Application": CONTAINER,
    # INDIGO: infrastructure.
    _I + "Compute": VM,
    _I + "MonitoredCompute": VM,
    _I + "BlockStorage": STORAGE,
    _I + "GlusterFSVolume": STORAGE,
    _I + "OneDataStorage": STORAGE,
    _I + "network.Network": NETWORK,
    _I + "network.Port": NETWORK,
    # INDIGO: containers and jobs on Mesos, QCG, Kubernetes.
    _I + "Container.Application.Docker": CONTAINER,
    _I + "Container.Application.Docker.Marathon": CONTAINER,
    _I + "Container.Application.Docker.Chronos": JOB,
    _I + "Container.Runtime.Docker": RUNTIME,
    _I + "Batch.Job": JOB,
    _I + "Grid.Job": JOB,
    _I + "Qcg.Job": JOB,
    _I + "Kubernetes.HelmChart": HELM,
    _I + "KubernetesObject": HELM,
    _I + "KubernetesSecretRegistry": HELM,
    # INDIGO: where data lives.
    _I + "OnedataSpace": DATA,
    _I + "OnedataServiceSpace": DATA,
    _I + "Dynafed": DATA,
    # INDIGO: batch systems and clusters configured on VMs.
    _I + "ElasticCluster": SOFTWARE,
    _I + "LRMS.FrontEnd": SOFTWARE,
    _I + "LRMS.WorkerNode": SOFTWARE,
    _I + "LRMS.FrontEnd.Slurm": SOFTWARE,
    _I + "LRMS.WorkerNode.Slurm": SOFTWARE,
    _I + "LRMS.FrontEnd.SlurmGalaxy": SOFTWARE,
    _I + "LRMS.WorkerNode.SlurmGalaxy": SOFTWARE,
    _I + "LRMS.FrontEnd.Mesos": SOFTWARE,
    _I + "LRMS.WorkerNode.Mesos": SOFTWARE,
    _I + "MesosMaster": SOFTWARE,
    _I + "MesosSlave": SOFTWARE,
    _I + "MesosLoadBalancer": SOFTWARE,
    _I + "LRMS.FrontEnd.Torque": SOFTWARE,
    _I + "LRMS.WorkerNode.Torque": SOFTWARE,
    _I + "LRMS.FrontEnd.HTCondor": SOFTWARE,
    _I + "LRMS.WorkerNode.HTCondor": SOFTWARE,
    _I + "LRMS.FrontEnd.Kubernetes": SOFTWARE,
    _I + "LRMS.WorkerNode.Kubernetes": SOFTWARE,
    _I + "LRMS.FrontEnd.Nomad": SOFTWARE,
    _I + "LRMS.WorkerNode.Nomad": SOFTWARE,
    _I + "LRMS.FrontEnd.Storm": SOFTWARE,
    _I + "LRMS.WorkerNode.Storm": SOFTWARE,
    _I + "LRMS.FrontEnd.Local": SOFTWARE,
    _I + "SparkMesos": SOFTWARE,
    _I + "GalaxyPortal": SOFTWARE,
    _I + "GalaxyPortalAndStorage": SOFTWARE,
    _I + "GalaxyPortalDocker": SOFTWARE,
    _I + "GalaxyPortalFastConfig": SOFTWARE,
    _I + "GalaxyShedTool": SOFTWARE,
    _I + "GalaxyReferenceData": SOFTWARE,
    _I + "GalaxyWN": SOFTWARE,
    _I + "GalaxyWNCVMFS": SOFTWARE,
    _I + "GalaxyWnToolDeps": SOFTWARE,
    _I + "GalaxyWnCvmfsReferenceData": SOFTWARE,
    # INDIGO: other software, configured by INDIGO's own Ansible roles (none ship here).
    **{
        _I + name: SOFTWARE
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
    "tosca.nodes.paas.Job": JOB,
}


def classify(ancestry):
    """(kind, role) of a type given its ``ancestry`` (the type first, then its parents): each
    from the nearest type that has an entry."""
    kind = next((NODE_KINDS[name] for name in ancestry if name in NODE_KINDS), ABSTRACT)
    return kind, roles.role_of(ancestry)
