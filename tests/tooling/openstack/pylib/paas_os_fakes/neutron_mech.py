"""An ML2 mechanism driver that binds every port at once, without an agent.

Without it nova's port binding fails (binding_failed) and the server ends in ERROR. Registered as
``fakebind`` through ../paas_os_fakes-0.1.dist-info/entry_points.txt: stevedore loads ML2 drivers by
entry point only.
"""
from neutron_lib.plugins.ml2 import api


class FakeBindMechanismDriver(api.MechanismDriver):
    """Bind a port to the first segment offered, as an OVS port, and mark it ACTIVE."""

    def initialize(self):
        """Nothing to set up."""

    def bind_port(self, context):
        """Bind to the first segment (ports of any network type, on any host)."""
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], 'ovs', {'port_filter': True}, status='ACTIVE')
            return
