"""nova-compute with nova's FakeDriver, whose snapshots reach the ``active`` state.

Upstream FakeDriver.snapshot uploads nothing, so a snapshot image stays ``queued`` forever. This
wrapper uploads a 1 KiB blob instead, then runs nova.cmd.compute.main(). It is a wrapper and not a
driver of its own because nova prefixes ``compute_driver`` with ``nova.virt.``.
"""
import io
import sys

from nova.cmd import compute  # first: nova.cmd monkey-patches eventlet
from nova.compute import task_states
from nova import exception
from nova.image import glance
from nova.virt import fake


def snapshot(self, context, instance, image_id, update_task_state):
    """Upload a 1 KiB raw image as the snapshot's data."""
    if instance.uuid not in self.instances:
        raise exception.InstanceNotRunning(instance_id=instance.uuid)
    update_task_state(task_state=task_states.IMAGE_UPLOADING)
    glance.API().update(context, image_id, {'disk_format': 'raw', 'container_format': 'bare'},
                        data=io.BytesIO(b'\0' * 1024))


def main():
    """Patch FakeDriver, then run nova-compute."""
    fake.FakeDriver.snapshot = snapshot
    return compute.main()


if __name__ == '__main__':
    sys.argv[0] = 'nova-compute'
    sys.exit(main())
