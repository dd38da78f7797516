# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INDIGO's enums, spelled exactly as ``it.reply.orchestrator.enums`` spells them.

Each class holds its values as constants named after themselves (``Status.CREATE_COMPLETE ==
"CREATE_COMPLETE"``) and lists them, in INDIGO's order, in ``ALL``.
"""

from __future__ import annotations


class _Enum:
    ALL = ()

    def __init_subclass__(cls):
        cls.ALL = tuple(value for name, value in vars(cls).items() if name == value)


class Status(_Enum):
    """A deployment's status."""

    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_FAILED = "UPDATE_FAILED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"
    UNKNOWN = "UNKNOWN"


class NodeStates(_Enum):
    """A resource's state; the ``TRANSITIONAL`` ones are those INDIGO marks so."""

    INITIAL = "INITIAL"
    CREATING = "CREATING"
    CREATED = "CREATED"
    CONFIGURING = "CONFIGURING"
    CONFIGURED = "CONFIGURED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    DELETING = "DELETING"
    ERROR = "ERROR"


NodeStates.TRANSITIONAL = frozenset(
    (NodeStates.CREATING, NodeStates.CONFIGURING, NodeStates.STARTING, NodeStates.STOPPING,
     NodeStates.DELETING)
)


class Task(_Enum):
    """What a deployment is busy with; INDIGO only ever sets NONE and DEPLOYER."""

    NONE = "NONE"
    MONITORING = "MONITORING"
    QOS = "QOS"
    BROKERING = "BROKERING"
    DMS = "DMS"
    DEPLOYER = "DEPLOYER"
    UNKNOWN = "UNKNOWN"


class DeploymentType(_Enum):
    """The engine family a template deploys with."""

    CHRONOS = "CHRONOS"
    MARATHON = "MARATHON"
    TOSCA = "TOSCA"
    QCG = "QCG"
    KUBERNETES_HELM_CHART = "KUBERNETES_HELM_CHART"


def resource_state_after(status, state):
    """The state a resource in ``state`` takes when its deployment enters ``status``, as INDIGO's
    DeploymentStatusHelperImpl.updateResources does; None means the resource row is removed."""
    if status == Status.CREATE_IN_PROGRESS:
        return NodeStates.CREATING
    if status == Status.CREATE_COMPLETE:
        return NodeStates.STARTED
    if status == Status.UPDATE_IN_PROGRESS:
        keep = (NodeStates.CREATING, NodeStates.DELETING, NodeStates.STARTED)
        return state if state in keep else NodeStates.CONFIGURING
    if status == Status.UPDATE_COMPLETE:
        return None if state == NodeStates.DELETING else NodeStates.STARTED
    if status == Status.UPDATE_FAILED:
        return state if state == NodeStates.STARTED else NodeStates.ERROR
    if status == Status.DELETE_IN_PROGRESS:
        return NodeStates.DELETING
    if status == Status.DELETE_COMPLETE:
        return None
    return NodeStates.ERROR  # CREATE_FAILED, DELETE_FAILED, UNKNOWN
