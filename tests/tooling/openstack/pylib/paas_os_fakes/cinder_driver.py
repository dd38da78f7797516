"""A Cinder volume driver that stores nothing: volumes exist in the database only.

initialize_connection returns an iSCSI target that nobody connects to: nova's FakeDriver never
reads it, so attach and detach work. Debian does not ship cinder.tests.fake_driver.
"""
from cinder.volume import driver


class FakeVolumeDriver(driver.VolumeDriver):
    """Every operation succeeds at once; capacity is reported as 1000 GB free."""

    def do_setup(self, context):
        """Nothing to set up."""

    def check_for_setup_error(self):
        """Always ready."""

    def create_volume(self, volume):
        """Nothing to allocate."""

    def create_volume_from_snapshot(self, volume, snapshot):
        """Nothing to copy."""

    def create_cloned_volume(self, volume, src_vref):
        """Nothing to copy."""

    def copy_image_to_volume(self, context, volume, image_service, image_id, disk_format=None):
        """Nothing to copy (a volume made from an image holds no data)."""

    def extend_volume(self, volume, new_size):
        """Nothing to grow."""

    def delete_volume(self, volume):
        """Nothing to free."""

    def create_snapshot(self, snapshot):
        """Nothing to copy."""

    def delete_snapshot(self, snapshot):
        """Nothing to free."""

    def create_export(self, context, volume, connector):
        """No target to export."""

    def ensure_export(self, context, volume):
        """No target to export."""

    def remove_export(self, context, volume):
        """No target to remove."""

    def initialize_connection(self, volume, connector):
        """Return an iSCSI target that exists nowhere."""
        return {
            'driver_volume_type': 'iscsi',
            'data': {
                'target_discovered': False,
                'target_iqn': 'iqn.2010-10.org.openstack:volume-%s' % volume.id,
                'target_portal': '127.0.0.1:3260',
                'target_lun': 1,
                'volume_id': volume.id,
                'access_mode': 'rw',
            },
        }

    def terminate_connection(self, volume, connector, **kwargs):
        """Nothing to disconnect."""

    def _update_volume_stats(self):
        """Report a thin-provisioned backend with room for anything a test asks for."""
        self._stats = {
            'volume_backend_name': self.configuration.safe_get('volume_backend_name') or 'fake',
            'vendor_name': 'paas-orchestrator tests',
            'driver_version': '1.0',
            'storage_protocol': 'iSCSI',
            'total_capacity_gb': 1000,
            'free_capacity_gb': 1000,
            'reserved_percentage': 0,
            'thin_provisioning_support': True,
            'multiattach': True,
        }

    def get_volume_stats(self, refresh=False):
        """Return the fixed statistics."""
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats
