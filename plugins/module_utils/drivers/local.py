# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local site: jobs run as processes on this host, under a detached agent.

Layout under the site's ``workdir`` (default ``~/.local/share/paas-orchestrator/local``):
``<deployment uuid>/specs/*.json`` (what to run, written by submit), ``journal.jsonl`` (what
happened, written by the agent), ``jobs/<node>/<index>/`` (each job's directory, with its
``stdout`` and ``stderr``), ``agent.lock``/``agent.pid``. The agent's code is copied from the
collection to ``<workdir>/.agent-<digest>/`` so that it outlives the Ansible run.

Container images of INDIGO Chronos jobs are recorded, but the local site runs the command
natively, with no container.

All-in-one (``all_in_one: true``): the template's Compute nodes are this machine, so that a
user with no cloud can deploy a cluster template and have the roles configure it here. Each VM
is a file ``vms/<key>.json`` (what exists is what the directory holds); the inventory reaches it
with ``ansible_connection: local``. The software, volumes and networks of those nodes are
this machine's own: nothing is created for them. Off by default: a ranked placement never puts
a VM template on the user's own machine by surprise.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote

from ansible_collections.paas.orchestrator.plugins.module_utils import staging
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers import local_agent
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    Driver,
    Observed,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds

_STATES = {
    local_agent.PENDING: "CREATED",
    local_agent.RUNNING: "CONFIGURING",
    local_agent.SUCCEEDED: "STARTED",
    local_agent.FAILED: "ERROR",
}
STOP_TIMEOUT = 10.0
# What an all-in-one VM is: this machine, reached without SSH.
THIS_HOST = {"public_address": [], "private_address": ["127.0.0.1"], "connection": "local"}


def default_workdir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return os.path.join(base, "paas-orchestrator", "local")


def _write_atomic(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def module_source(module):
    """A module's source, through its loader: inside an AnsiballZ zip there is no file to copy
    (and Ansible's collection loader answers in bytes where others answer in text)."""
    source = module.__loader__.get_source(module.__name__)
    return source.encode("utf-8") if isinstance(source, str) else source


class LocalDriver(Driver):
    site_type = "local"
    supported_kinds = (kinds.JOB,)
    passive_kinds = (kinds.RUNTIME, kinds.DATA, kinds.ABSTRACT)

    def __init__(self, site):
        super().__init__(site)
        self.workdir = os.path.abspath(os.path.expanduser(site.get("workdir") or default_workdir()))
        slots = site.get("slots")
        if slots is None:
            slots = os.cpu_count() or 1
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise SiteConfigError("site '%s': slots must be a positive whole number" % self.name)
        self.slots = slots
        all_in_one = site.get("all_in_one", False)
        if not isinstance(all_in_one, bool):
            raise SiteConfigError("site '%s': all_in_one must be true or false" % self.name)
        if all_in_one:
            self.supported_kinds = (kinds.JOB, kinds.VM)
            self.passive_kinds = self.passive_kinds + (kinds.SOFTWARE, kinds.STORAGE,
                                                       kinds.NETWORK)
        self._journals = {}  # deployment uuid -> JournalReader, for this call only

    # -- layout ---------------------------------------------------------------------------
    def directory(self, deployment_uuid):
        return os.path.join(self.workdir, deployment_uuid)

    def _agent_program(self):
        """The agent and staging sources, copied once per content version."""
        sources = {"agent.py": module_source(local_agent), "staging.py": module_source(staging)}
        digest = hashlib.sha256(b"".join(sources[name] for name in sorted(sources))).hexdigest()
        target = os.path.join(self.workdir, ".agent-" + digest[:16])
        if not os.path.isdir(target):
            fresh = target + ".tmp-%d" % os.getpid()
            os.makedirs(fresh, exist_ok=True)
            for name, data in sources.items():
                _write_atomic(os.path.join(fresh, name), data)
            try:
                os.rename(fresh, target)
            except OSError:
                shutil.rmtree(fresh, ignore_errors=True)  # another run installed it first
        return os.path.join(target, "agent.py")

    def _agent_running(self, directory):
        try:
            with open(os.path.join(directory, "agent.lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
                return False
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise

    def _start_agent(self, directory, secrets):
        if self._agent_running(directory):
            return
        env = dict(os.environ)
        env[local_agent.SECRETS_ENV] = json.dumps(secrets)
        with open(os.path.join(directory, "agent.log"), "ab") as log:
            subprocess.Popen([sys.executable, self._agent_program(), directory, str(self.slots)],
                             cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, start_new_session=True, close_fds=True)

    def _vm_path(self, deployment_uuid, key):
        return os.path.join(self.directory(deployment_uuid), "vms", quote(key, safe="") + ".json")

    # -- the driver interface -------------------------------------------------------------
    def check(self, plan):
        for resource in plan.resources:
            if resource.kind == kinds.VM and kinds.VM not in self.supported_kinds:
                raise SiteConfigError(
                    "site '%s' (local) runs Compute node '%s' on this machine only with "
                    "all_in_one: true" % (self.name, resource.node))
        super().check(plan)

    def submit(self, deployment_uuid, items, secrets):
        directory = self.directory(deployment_uuid)
        try:
            os.makedirs(os.path.join(directory, "specs"), mode=0o700, exist_ok=True)
            vms = [item for item in items if item["kind"] == kinds.VM]
            if vms:
                os.makedirs(os.path.join(directory, "vms"), mode=0o700, exist_ok=True)
            for item in vms:
                _write_atomic(self._vm_path(deployment_uuid, item["key"]),
                              json.dumps({"key": item["key"], "node": item["node"]}).encode())
            jobs = [item["spec"] for item in items if item["kind"] == kinds.JOB]
            if jobs:
                name = "%020d-%d.json" % (time.time_ns(), os.getpid())
                _write_atomic(os.path.join(directory, "specs", name),
                              json.dumps(jobs).encode("utf-8"))
            self._start_agent(directory, secrets)
        except OSError as exc:
            raise ProviderError("local site '%s' cannot run jobs in %s: %s"
                                % (self.name, directory, exc.strerror)) from None
        return {item["key"]: "%s:%s/%s" % (self.name, deployment_uuid, item["key"])
                for item in items}

    def resume(self, deployment_uuid, secrets):
        """Restart the agent when jobs are unfinished and it is gone (a reboot, a kill, or it
        exited just as new specs arrived)."""
        directory = self.directory(deployment_uuid)
        if not os.path.isdir(directory) or self._agent_running(directory):
            return
        state = self._state(deployment_uuid)
        for name in os.listdir(os.path.join(directory, "specs")) if os.path.isdir(
                os.path.join(directory, "specs")) else ():
            with open(os.path.join(directory, "specs", name)) as handle:
                keys = [spec["key"] for spec in json.load(handle)]
            if any(state.get(key, {}).get("status", local_agent.PENDING)
                   in (local_agent.PENDING, local_agent.RUNNING) for key in keys):
                self._start_agent(directory, secrets)
                return

    def _state(self, deployment_uuid):
        reader = self._journals.get(deployment_uuid)
        if reader is None:
            path = os.path.join(self.directory(deployment_uuid), "journal.jsonl")
            reader = self._journals[deployment_uuid] = local_agent.JournalReader(path)
        return reader.read()

    def poll(self, deployment_uuid, keys):
        directory = self.directory(deployment_uuid)
        state = self._state(deployment_uuid)
        observed = {}
        for key in keys:
            if os.path.exists(self._vm_path(deployment_uuid, key)):
                observed[key] = Observed("STARTED", dict(THIS_HOST))
                continue
            job = state.get(key, {"status": local_agent.PENDING, "attempt": 0})
            attributes = {"job_dir": local_agent.job_dir(directory, key),
                          "attempts": job["attempt"], "exit_code": job.get("rc"),
                          "state": job["status"]}
            error = None
            if job["status"] == local_agent.FAILED:
                reason = job.get("reason") or "exit code %s" % job.get("rc")
                error = "job %s failed: %s" % (key, reason)
            observed[key] = Observed(_STATES[job["status"]], attributes, error)
        return observed

    def remove(self, deployment_uuid, keys):
        """Scaling in: only all-in-one VMs are ever removed alone (jobs are not updated)."""
        for key in keys:
            try:
                os.unlink(self._vm_path(deployment_uuid, key))
            except FileNotFoundError:
                pass
        return True

    def delete(self, deployment_uuid):
        directory = self.directory(deployment_uuid)
        if not os.path.isdir(directory):
            return True
        if self._agent_running(directory):
            open(os.path.join(directory, "cancel"), "a").close()
            try:
                with open(os.path.join(directory, "agent.pid")) as handle:
                    os.kill(int(handle.read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
            deadline = time.monotonic() + STOP_TIMEOUT
            while self._agent_running(directory):
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
        # Jobs of an agent that was killed outright may still run: end their process groups.
        for job in local_agent.replay(os.path.join(directory, "journal.jsonl")).values():
            if job["status"] == local_agent.RUNNING:
                local_agent.kill_job(job)
        shutil.rmtree(directory, ignore_errors=True)
        return not os.path.exists(directory)
