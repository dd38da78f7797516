"""Register and create what the tests expect in the OpenStack that setup.sh starts.

Run by setup.sh under Debian's /usr/bin/python3 with the standard library only (no openstacksdk, no
venv needed), as the bootstrap admin. Every step is idempotent: it looks first and creates only what
is missing, so that a warm start costs a few GETs.

    provision.py identity      # projects, users, roles, services and endpoints (Keystone only)
    provision.py wait-compute TIMEOUT BINARY=START...  # until these services report since START
    provision.py hypervisors   # exit 0 when nova lists a hypervisor (its host is mapped)
    provision.py resources     # flavors, image, networks, routers, quotas
    provision.py record        # clouds.yaml in the state dir + "openstack" in services.json

Environment: OS_PAAS_PASSWORD (every user's password), OS_PAAS_STATE_DIR, OS_PAAS_HEAT=1 (Heat's
domain, roles and endpoint), OS_PAAS_SERVICES_JSON (default ~/.paas-orchestrator-test/services.json).
"""
from __future__ import annotations

import calendar
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from record_service import merge_key  # noqa: E402  (tests/tooling, shared with the scripts)

HOST = 'http://127.0.0.1'
KEYSTONE = HOST + ':5000/v3'
NOVA = HOST + ':8774/v2.1'
NEUTRON = HOST + ':9696/v2.0'
GLANCE = HOST + ':9292/v2'
CINDER = HOST + ':8776/v3'
REGION = 'RegionOne'

SERVICE_USERS = ('glance', 'placement', 'nova', 'neutron', 'cinder')
# (name, type, url); %(project_id)s is expanded by Keystone per token.
SERVICES = [
    ('glance', 'image', HOST + ':9292'),
    ('placement', 'placement', HOST + ':8778'),
    ('nova', 'compute', NOVA),
    ('neutron', 'network', HOST + ':9696'),
    ('cinderv3', 'volumev3', HOST + ':8776/v3/%(project_id)s'),
]
HEAT_SERVICE = ('heat', 'orchestration', HOST + ':8004/v1/%(project_id)s')

IMAGE = 'cirros-fake'
# Properties a test can match; the data is a 1 KiB blob (FakeDriver never reads it).
IMAGE_PROPERTIES = {
    'os_distro': 'cirros', 'os_version': '0.6.2', 'os_type': 'linux', 'architecture': 'x86_64',
    'hw_disk_bus': 'virtio', 'paas_test': 'true',
}
FLAVORS = [
    {'name': 'm1.tiny', 'vcpus': 1, 'ram': 512, 'disk': 1},
    {'name': 'm1.small', 'vcpus': 1, 'ram': 2048, 'disk': 20},
    {'name': 'm1.medium', 'vcpus': 2, 'ram': 4096, 'disk': 40},
]
# Never schedulable: more disk than FakeDriver's host reports (600000 GB), within every quota (nova
# has no disk quota). A boot with it ends in ERROR with the fault "No valid host was found".
NOHOST_FLAVOR = {'name': 'x1.nohost', 'vcpus': 1, 'ram': 512, 'disk': 1000000}
PUBLIC = {'network': 'public', 'subnet': 'public-subnet', 'cidr': '203.0.113.0/24', 'gateway': '203.0.113.1',
          'pool': ('203.0.113.10', '203.0.113.250')}
PRIVATE = {'network': 'private', 'subnet': 'private-subnet', 'cidr': '10.0.0.0/24', 'gateway': '10.0.0.1',
           'router': 'router'}
# Each test project (a user of the same name, role member) gets its own private network and router.
# demo2's quotas are tiny so that a test can exhaust them (failover).
PROJECTS = {
    'demo': {
        'compute': {'instances': 10, 'cores': 20, 'ram': 51200, 'key_pairs': 100},
        'network': {'floatingip': 10, 'port': 50, 'security_group': 10, 'security_group_rule': 100,
                    'network': 10, 'subnet': 10, 'router': 5},
        'volume': {'volumes': 10, 'gigabytes': 1000, 'snapshots': 10},
    },
    'demo2': {
        'compute': {'instances': 1, 'cores': 2, 'ram': 4096, 'key_pairs': 10},
        'network': {'floatingip': 1, 'port': 10, 'security_group': 3, 'security_group_rule': 20,
                    'network': 2, 'subnet': 2, 'router': 1},
        'volume': {'volumes': 1, 'gigabytes': 5, 'snapshots': 1},
    },
}


def log(message):
    """Print a progress line the way setup.sh does."""
    print('provision: %s' % message, file=sys.stderr, flush=True)


class Api:
    """A minimal JSON client, authenticated as the bootstrap admin (project admin)."""

    def __init__(self, password):
        self.password = password
        self.token = None
        self.project_id = None
        self.authenticate()

    def authenticate(self):
        """Get a project-scoped admin token."""
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': 'admin', 'domain': {'id': 'default'}, 'password': self.password}}},
            'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}}
        headers, data = self.call('POST', KEYSTONE + '/auth/tokens', body, auth=False)
        self.token = headers['X-Subject-Token']
        self.project_id = data['token']['project']['id']

    def call(self, method, url, body=None, auth=True, raw=None, headers=None, ok=(200, 201, 202, 204)):
        """Send one request; return (headers, decoded JSON or None). Raise on a status not in ok."""
        request_headers = {'Accept': 'application/json'}
        data = None
        if raw is not None:
            data = raw
            request_headers['Content-Type'] = 'application/octet-stream'
        elif body is not None:
            data = json.dumps(body).encode()
            request_headers['Content-Type'] = 'application/json'
        if auth:
            request_headers['X-Auth-Token'] = self.token
        request_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, response_headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, response_headers, payload = error.code, error.headers, error.read()
        if status not in ok:
            raise RuntimeError('%s %s: HTTP %s: %s' % (method, url, status, payload[:500].decode(errors='replace')))
        return response_headers, (json.loads(payload) if payload else None)

    def get(self, url, key):
        """GET a collection and return the list under key."""
        return self.call('GET', url)[1][key]

    def post(self, url, key, value):
        """POST {key: value} and return the created object."""
        return self.call('POST', url, {key: value})[1][key]


def by_name(items):
    """Index a list of API objects by name."""
    return {item['name']: item for item in items}


def query(url, **params):
    """Append a query string."""
    return url + '?' + urllib.parse.urlencode(params)


# --- identity ----------------------------------------------------------------------------------

def ensure(api, url, key, name, value):
    """Return the object called name in the collection at url, creating it from value if missing."""
    found = by_name(api.get(query(url, name=name), key))
    if name in found:
        return found[name]
    log('creating %s %s' % (key[:-1], name))
    return api.post(url, key[:-1], dict(value, name=name))


def identity(api, heat):
    """Projects, users, role assignments, services and endpoints; Heat's domain when heat."""
    roles = by_name(api.get(KEYSTONE + '/roles', 'roles'))
    wanted_roles = ['admin', 'member', 'reader', 'service'] + (['heat_stack_owner', 'heat_stack_user'] if heat else [])
    for role in wanted_roles:
        if role not in roles:
            log('creating role %s' % role)
            roles[role] = api.post(KEYSTONE + '/roles', 'role', {'name': role})

    projects = by_name(api.get(query(KEYSTONE + '/projects', domain_id='default'), 'projects'))
    for project in ['service'] + list(PROJECTS):
        if project not in projects:
            log('creating project %s' % project)
            projects[project] = api.post(KEYSTONE + '/projects', 'project', {
                'name': project, 'domain_id': 'default', 'description': 'paas.orchestrator tests'})

    users = by_name(api.get(query(KEYSTONE + '/users', domain_id='default'), 'users'))
    # (user, project, role)
    grants = [(user, 'service', role) for user in SERVICE_USERS + (('heat',) if heat else ()) for role in ('admin', 'service')]
    grants += [(project, project, 'member') for project in PROJECTS]
    if heat:
        grants += [(project, project, 'heat_stack_owner') for project in PROJECTS]
    for user, project, dummy in grants:
        if user not in users:
            log('creating user %s' % user)
            users[user] = api.post(KEYSTONE + '/users', 'user', {
                'name': user, 'domain_id': 'default', 'password': api.password,
                'default_project_id': projects[project]['id']})
    have = {(a['user']['id'], a['scope'].get('project', {}).get('id'), a['role']['id'])
            for a in api.get(KEYSTONE + '/role_assignments', 'role_assignments') if 'user' in a}
    for user, project, role in grants:
        user_id, project_id, role_id = users[user]['id'], projects[project]['id'], roles[role]['id']
        if (user_id, project_id, role_id) not in have:
            api.call('PUT', '%s/projects/%s/users/%s/roles/%s' % (KEYSTONE, project_id, user_id, role_id))

    services = by_name(api.get(KEYSTONE + '/services', 'services'))
    endpoints = {(e['service_id'], e['interface']) for e in api.get(KEYSTONE + '/endpoints', 'endpoints')}
    for name, kind, url in SERVICES + ([HEAT_SERVICE] if heat else []):
        if name not in services:
            log('creating service %s (%s)' % (name, kind))
            services[name] = api.post(KEYSTONE + '/services', 'service', {'name': name, 'type': kind})
        for interface in ('public', 'internal', 'admin'):
            if (services[name]['id'], interface) not in endpoints:
                api.post(KEYSTONE + '/endpoints', 'endpoint', {
                    'service_id': services[name]['id'], 'interface': interface, 'url': url, 'region_id': REGION})

    if heat:
        domain = ensure(api, KEYSTONE + '/domains', 'domains', 'heat', {'description': 'Heat stack users'})
        admins = api.get(query(KEYSTONE + '/users', domain_id=domain['id'], name='heat_domain_admin'), 'users')
        admin = admins[0] if admins else api.post(KEYSTONE + '/users', 'user', {
            'name': 'heat_domain_admin', 'domain_id': domain['id'], 'password': api.password})
        api.call('PUT', '%s/domains/%s/users/%s/roles/%s' % (KEYSTONE, domain['id'], admin['id'], roles['admin']['id']))


# --- readiness ---------------------------------------------------------------------------------

def heartbeat(service):
    """A service's last report (updated_at, UTC) as seconds since the epoch; 0 if it never reported."""
    if not service.get('updated_at'):
        return 0
    stamp = service['updated_at'].split('.')[0].replace('Z', '')
    return calendar.timegm(time.strptime(stamp, '%Y-%m-%dT%H:%M:%S'))


def wait_compute(api, timeout, started):
    """Wait until nova's and cinder's services are up and have reported since they were started.

    started maps a binary to its start time (epoch): a service stopped less than service_down_time
    (60 s) ago is still shown up, from its last heartbeat before the stop.
    """
    deadline = time.time() + timeout
    while True:
        up = set()
        try:
            services = api.get(NOVA + '/os-services', 'services')
            services += api.get('%s/%s/os-services' % (CINDER, api.project_id), 'services')
        except (RuntimeError, OSError) as error:
            last = str(error)
        else:
            for service in services:
                if service['state'] == 'up' and heartbeat(service) >= started.get(service['binary'], 0) - 1:
                    up.add(service['binary'])
            last = 'reported since their start: %s' % (', '.join(sorted(up)) or 'none')
            if set(started) <= up:
                return
        if time.time() > deadline:
            raise SystemExit('provision: compute/volume services not up after %ss (%s)' % (timeout, last))
        time.sleep(0.5)


def hypervisors(api):
    """Exit 0 when nova shows a hypervisor: only once its host is mapped to a cell (discover_hosts)."""
    if not api.get(NOVA + '/os-hypervisors', 'hypervisors'):
        raise SystemExit(1)


# --- resources ---------------------------------------------------------------------------------

def ensure_flavors(api):
    """m1.tiny, m1.small, m1.medium, public."""
    flavors = by_name(api.get(query(NOVA + '/flavors/detail', is_public='None'), 'flavors'))
    for flavor in FLAVORS + [NOHOST_FLAVOR]:
        have = flavors.get(flavor['name'])
        if have is None:
            log('creating flavor %s' % flavor['name'])
            api.post(NOVA + '/flavors', 'flavor', dict(flavor, **{'os-flavor-access:is_public': True}))
        elif any(have[k] != v for k, v in flavor.items()):
            raise SystemExit('provision: flavor %s exists with other values: %s' % (flavor['name'], have))


def ensure_image(api):
    """A public raw image of 1 KiB with IMAGE_PROPERTIES, active."""
    images = api.call('GET', query(GLANCE + '/images', name=IMAGE))[1]['images']
    if images:
        image = images[0]
    else:
        log('creating image %s' % IMAGE)
        body = dict(IMAGE_PROPERTIES, name=IMAGE, disk_format='raw', container_format='bare', visibility='public')
        image = api.call('POST', GLANCE + '/images', body)[1]
    if image['status'] == 'queued':
        api.call('PUT', '%s/images/%s/file' % (GLANCE, image['id']), raw=b'\0' * 1024)
    elif image['status'] != 'active':
        raise SystemExit('provision: image %s is %s' % (IMAGE, image['status']))


def ensure_network(api, name, project_id, extra):
    """The network called name in project_id, created with extra if missing."""
    found = api.get(query(NEUTRON + '/networks', name=name, project_id=project_id), 'networks')
    if found:
        return found[0]
    log('creating network %s' % name)
    return api.post(NEUTRON + '/networks', 'network', dict(extra, name=name, project_id=project_id))


def ensure_subnet(api, network, name, extra):
    """The subnet called name on network, created with extra if missing."""
    found = api.get(query(NEUTRON + '/subnets', name=name, network_id=network['id']), 'subnets')
    if found:
        return found[0]
    log('creating subnet %s' % name)
    return api.post(NEUTRON + '/subnets', 'subnet', dict(
        extra, name=name, network_id=network['id'], project_id=network['project_id'], ip_version=4))


def ensure_networks(api, projects):
    """The external network public and, per test project, private + router (gateway on public)."""
    public = ensure_network(api, PUBLIC['network'], api.project_id, {
        'router:external': True, 'shared': False,
        'provider:network_type': 'flat', 'provider:physical_network': 'public'})
    ensure_subnet(api, public, PUBLIC['subnet'], {
        'cidr': PUBLIC['cidr'], 'gateway_ip': PUBLIC['gateway'], 'enable_dhcp': False,
        'allocation_pools': [{'start': PUBLIC['pool'][0], 'end': PUBLIC['pool'][1]}]})
    for project in PROJECTS:
        project_id = projects[project]['id']
        private = ensure_network(api, PRIVATE['network'], project_id, {})
        subnet = ensure_subnet(api, private, PRIVATE['subnet'], {
            'cidr': PRIVATE['cidr'], 'gateway_ip': PRIVATE['gateway'], 'enable_dhcp': True,
            'dns_nameservers': ['203.0.113.53']})
        routers = api.get(query(NEUTRON + '/routers', name=PRIVATE['router'], project_id=project_id), 'routers')
        if routers:
            router = routers[0]
        else:
            log('creating router %s in %s' % (PRIVATE['router'], project))
            router = api.post(NEUTRON + '/routers', 'router', {
                'name': PRIVATE['router'], 'project_id': project_id,
                'external_gateway_info': {'network_id': public['id']}})
        ports = api.get(query(NEUTRON + '/ports', device_id=router['id'], network_id=private['id']), 'ports')
        if not ports:
            api.call('PUT', '%s/routers/%s/add_router_interface' % (NEUTRON, router['id']), {'subnet_id': subnet['id']})


def ensure_quotas(api, projects):
    """Set PROJECTS' quotas in nova, neutron and cinder (PUT is idempotent)."""
    for project, quotas in PROJECTS.items():
        project_id = projects[project]['id']
        api.call('PUT', '%s/os-quota-sets/%s' % (NOVA, project_id), {'quota_set': quotas['compute']})
        api.call('PUT', '%s/quotas/%s' % (NEUTRON, project_id), {'quota': quotas['network']})
        api.call('PUT', '%s/%s/os-quota-sets/%s' % (CINDER, api.project_id, project_id), {'quota_set': quotas['volume']})


def resources(api):
    """Everything a test boots on."""
    projects = by_name(api.get(query(KEYSTONE + '/projects', domain_id='default'), 'projects'))
    ensure_flavors(api)
    ensure_image(api)
    ensure_networks(api, projects)
    ensure_quotas(api, projects)


# --- record ------------------------------------------------------------------------------------

def credentials(user, project, password):
    """openstacksdk auth arguments."""
    return {'auth_url': KEYSTONE, 'username': user, 'password': password, 'project_name': project,
            'user_domain_name': 'Default', 'project_domain_name': 'Default'}


def record(password, state_dir, heat):
    """Write clouds.yaml (clouds paas-demo, paas-demo2, paas-admin) and services.json's "openstack"."""
    clouds = {}
    for cloud, user in (('paas-demo', 'demo'), ('paas-demo2', 'demo2'), ('paas-admin', 'admin')):
        clouds[cloud] = {'auth': credentials(user, user, password), 'region_name': REGION,
                         'identity_api_version': 3, 'interface': 'public'}
    clouds_yaml = os.path.join(state_dir, 'clouds.yaml')
    write_private(clouds_yaml, json.dumps({'clouds': clouds}, indent=2) + '\n')  # JSON is YAML

    entry = dict(credentials('demo', 'demo', password), region_name=REGION)
    entry.update({
        'image': IMAGE, 'image_properties': IMAGE_PROPERTIES, 'flavors': FLAVORS,
        'nohost_flavor': NOHOST_FLAVOR['name'],
        'public_network': PUBLIC['network'], 'public_subnet': PUBLIC['subnet'], 'public_cidr': PUBLIC['cidr'],
        'private_network': PRIVATE['network'], 'private_subnet': PRIVATE['subnet'],
        'private_cidr': PRIVATE['cidr'], 'router': PRIVATE['router'],
        'quotas': PROJECTS['demo'],
        'demo2': dict(credentials('demo2', 'demo2', password), region_name=REGION, quotas=PROJECTS['demo2']),
        'admin': dict(credentials('admin', 'admin', password), region_name=REGION),
        'clouds_yaml': clouds_yaml, 'clouds': {'demo': 'paas-demo', 'demo2': 'paas-demo2', 'admin': 'paas-admin'},
        'compute_driver': 'fake', 'heat': heat,
        'max_microversions': {'compute': '2.93', 'volume': '3.70'},
    })
    path = os.environ.get('OS_PAAS_SERVICES_JSON') or os.path.expanduser('~/.paas-orchestrator-test/services.json')
    merge_key(path, 'openstack', entry)


def write_private(path, text):
    """Write text to path atomically, mode 0600 (it holds passwords)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.replace(tmp, path)


def main():
    """Dispatch the sub-command."""
    password = os.environ['OS_PAAS_PASSWORD']
    heat = os.environ.get('OS_PAAS_HEAT') == '1'
    command = sys.argv[1] if len(sys.argv) > 1 else ''
    if command == 'record':
        record(password, os.environ['OS_PAAS_STATE_DIR'], heat)
        return
    api = Api(password)
    if command == 'identity':
        identity(api, heat)
    elif command == 'wait-compute':
        wait_compute(api, float(sys.argv[2]), dict((b, float(t)) for b, t in (a.split('=') for a in sys.argv[3:])))
    elif command == 'hypervisors':
        hypervisors(api)
    elif command == 'resources':
        resources(api)
    else:
        raise SystemExit('usage: provision.py identity|wait-compute TIMEOUT BINARY=START...|hypervisors|resources|record')


if __name__ == '__main__':
    main()
