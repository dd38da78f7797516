"""Smoke test of the OpenStack that setup.sh starts, through openstacksdk, with the recorded credentials.

    tests/tooling/openstack/setup.sh start
    .venv/bin/python tests/tooling/openstack/smoke.py

As the demo user: a security group with a rule, a port on the private network, a server on that
port (ACTIVE with the fake driver), a floating IP from the public network on the port, a 1 GB volume
attached to the server, tags on the server and a listing by tag; then everything is deleted and the
script checks that nothing of its own is left. Then the two failures a driver must handle: a
server in ERROR (flavor x1.nohost: NoValidHost) and, as demo2 (instance quota 1), the error of a
boot over the quota. Prints the time of each step; exits non-zero on any failure.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid

import openstack
from openstack import exceptions

SERVICES_JSON = os.path.expanduser('~/.paas-orchestrator-test/services.json')
WAIT = 120
POLL = 0.5
STARTED = time.monotonic()


def step(message):
    """Print message with the seconds since the start."""
    print('%6.1fs  %s' % (time.monotonic() - STARTED, message), flush=True)


def connect(entry):
    """An openstacksdk connection from a services.json credentials dict."""
    keys = ('auth_url', 'username', 'password', 'project_name', 'user_domain_name', 'project_domain_name')
    return openstack.connect(region_name=entry['region_name'], **{k: entry[k] for k in keys})


def wait_volume(conn, volume, status):
    """Wait until volume has status."""
    return conn.block_storage.wait_for_status(volume, status, failures=['error'], interval=POLL, wait=WAIT)


def lifecycle(conn, cfg, run):
    """Create, check and delete one server with its port, floating IP, security group and volume."""
    created = {}
    try:
        image = conn.image.find_image(cfg['image'], ignore_missing=False)
        flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
        private = conn.network.find_network(cfg['private_network'], ignore_missing=False)
        public = conn.network.find_network(cfg['public_network'], ignore_missing=False)
        assert image.properties.get('os_distro') == 'cirros' or image.os_distro == 'cirros', image
        step('image %s (%s), flavor %s (%s vcpu, %s MB), networks found'
             % (image.name, image.status, flavor.name, flavor.vcpus, flavor.ram))

        sg = created['sg'] = conn.network.create_security_group(name=run, description='smoke test')
        conn.network.create_security_group_rule(
            security_group_id=sg.id, direction='ingress', ethertype='IPv4', protocol='tcp',
            port_range_min=22, port_range_max=22, remote_ip_prefix='0.0.0.0/0')
        step('security group %s + rule tcp/22' % sg.name)

        port = created['port'] = conn.network.create_port(
            network_id=private.id, name=run, security_group_ids=[sg.id])
        step('port %s %s (%s)' % (port.name, port.fixed_ips[0]['ip_address'], port.status))

        server = created['server'] = conn.compute.create_server(
            name=run, image_id=image.id, flavor_id=flavor.id, networks=[{'port': port.id}],
            metadata={'paas_run': run})
        posted = time.monotonic()
        server = conn.compute.wait_for_server(server, status='ACTIVE', interval=POLL, wait=WAIT)
        port = conn.network.get_port(port.id)
        step('server ACTIVE %.1fs after POST; host %s; port %s, vif_type %s'
             % (time.monotonic() - posted, server.compute_host, port.status, port.binding_vif_type))

        fip = created['fip'] = conn.network.create_ip(floating_network_id=public.id)
        step('floating ip %s allocated (%s)' % (fip.floating_ip_address, fip.status))
        fip = conn.network.update_ip(fip, port_id=port.id)
        assert fip.port_id == port.id and fip.fixed_ip_address == port.fixed_ips[0]['ip_address'], fip
        step('floating ip associated to the server port (status %s)' % fip.status)
        # Nova learns of it from neutron's network-changed event (sent in batches every 2 s).
        deadline = time.monotonic() + 30
        while floating_addresses(conn.compute.get_server(server.id)) != [fip.floating_ip_address]:
            if time.monotonic() > deadline:
                raise SystemExit('smoke: floating ip not in the server addresses after 30 s')
            time.sleep(POLL)
        step('floating ip in the server addresses')

        volume = created['volume'] = conn.block_storage.create_volume(size=1, name=run)
        volume = wait_volume(conn, volume, 'available')
        step('volume %s available (%s GB)' % (volume.name, volume.size))
        attachment = conn.compute.create_volume_attachment(server, volume_id=volume.id)
        volume = wait_volume(conn, volume, 'in-use')
        step('volume attached (in-use, %s)' % attachment.device)

        server.add_tag(conn.compute, 'paas-smoke')
        server.add_tag(conn.compute, run)
        tagged = [s.id for s in conn.compute.servers(tags=run)]
        assert tagged == [server.id], tagged
        assert [s.id for s in conn.compute.servers(tags_any='%s,other' % run)] == [server.id]
        step('server tagged; listed by tag: %s' % conn.compute.get_server(server.id).tags)

        conn.compute.delete_volume_attachment(server, volume)
        wait_volume(conn, volume, 'available')
        step('volume detached')
    finally:
        cleanup(conn, created)
    verify_clean(conn, run, created)


def floating_addresses(server):
    """The floating IPs nova shows in server.addresses."""
    return [a['addr'] for addresses in server.addresses.values() for a in addresses
            if a.get('OS-EXT-IPS:type') == 'floating']


def cleanup(conn, created):
    """Delete what lifecycle created, in dependency order; each step is tolerant of absence."""
    if 'fip' in created:
        conn.network.delete_ip(created['fip'], ignore_missing=True)
    if 'server' in created:
        conn.compute.delete_server(created['server'], ignore_missing=True)
        conn.compute.wait_for_delete(created['server'], interval=POLL, wait=WAIT)
        step('server deleted')
    if 'volume' in created:
        volume = conn.block_storage.get_volume(created['volume'])
        if volume.status == 'in-use':  # the server's deletion detaches it
            wait_volume(conn, volume, 'available')
        conn.block_storage.delete_volume(volume, ignore_missing=True)
        conn.block_storage.wait_for_delete(volume, interval=POLL, wait=WAIT)
    if 'port' in created:  # a port given to nova at boot outlives the server
        conn.network.delete_port(created['port'], ignore_missing=True)
    if 'sg' in created:
        conn.network.delete_security_group(created['sg'], ignore_missing=True)
    step('floating ip, volume, port and security group deleted')


def verify_clean(conn, run, created):
    """Nothing of this run is left."""
    left = {
        'servers': [s.id for s in conn.compute.servers(name=run)],
        'ports': [p.id for p in conn.network.ports(name=run)],
        'volumes': [v.id for v in conn.block_storage.volumes(name=run)],
        'floating ips': [ip.id for ip in conn.network.ips() if 'fip' in created and ip.id == created['fip'].id],
        'security groups': [g.id for g in conn.network.security_groups(name=run)],
    }
    left = {k: v for k, v in left.items() if v}
    if left:
        raise SystemExit('smoke: left behind: %s' % left)
    step('nothing left: 0 servers, ports, volumes, floating ips, security groups of %s' % run)


def quota(cfg, run):
    """As demo2 (instances quota 1): fill the quota, then show the error the next boot gets."""
    conn = connect(cfg['demo2'])
    limit = conn.compute.get_limits().absolute
    step('demo2 limits: instances %s/%s, cores %s/%s' % (
        limit.instances_used, limit.instances, limit.total_cores_used, limit.total_cores))
    image = conn.image.find_image(cfg['image'], ignore_missing=False)
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    network = conn.network.find_network(cfg['private_network'], ignore_missing=False)
    mine = []
    try:
        for i in range(limit.instances - limit.instances_used):
            mine.append(conn.compute.create_server(name='%s-q%d' % (run, i), image_id=image.id, flavor_id=flavor.id,
                                                   networks=[{'uuid': network.id}]))
        step('demo2: %d server(s) created to reach the quota' % len(mine))
        try:
            extra = conn.compute.create_server(name=run + '-over', image_id=image.id, flavor_id=flavor.id,
                                               networks=[{'uuid': network.id}])
        except exceptions.HttpException as error:
            step('over quota: %s, HTTP %s, request id %s\n         %s'
                 % (type(error).__name__, error.status_code, error.request_id, error.details))
        else:
            mine.append(extra)
            raise SystemExit('smoke: a boot over the instance quota succeeded')
    finally:
        for server in mine:
            conn.compute.delete_server(server, ignore_missing=True)
        for server in mine:
            conn.compute.wait_for_delete(server, interval=POLL, wait=WAIT)
    step('demo2: servers deleted')


def no_valid_host(conn, cfg, run):
    """A boot with the never-schedulable flavor: the server ends in ERROR with a fault."""
    image = conn.image.find_image(cfg['image'], ignore_missing=False)
    flavor = conn.compute.find_flavor(cfg['nohost_flavor'], ignore_missing=False)
    network = conn.network.find_network(cfg['private_network'], ignore_missing=False)
    server = conn.compute.create_server(name=run + '-nohost', image_id=image.id, flavor_id=flavor.id,
                                        networks=[{'uuid': network.id}])
    try:
        try:
            conn.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], interval=POLL, wait=WAIT)
        except exceptions.ResourceFailure:
            server = conn.compute.get_server(server.id)
            step('flavor %s: server %s, fault: %s' % (flavor.name, server.status, (server.fault or {}).get('message')))
        else:
            raise SystemExit('smoke: a server with flavor %s became ACTIVE' % flavor.name)
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
        conn.compute.wait_for_delete(server, interval=POLL, wait=WAIT)


def main():
    """Run the smoke test against services.json's "openstack" entry."""
    with open(os.environ.get('OS_PAAS_SERVICES_JSON', SERVICES_JSON)) as handle:
        cfg = json.load(handle)['openstack']
    run = 'smoke-' + uuid.uuid4().hex[:8]
    conn = connect(cfg)
    step('token for demo (%s)' % run)
    lifecycle(conn, cfg, run)
    no_valid_host(conn, cfg, run)
    quota(cfg, run)
    step('smoke test passed')


if __name__ == '__main__':
    sys.exit(main())
