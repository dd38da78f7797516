# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SLURM site: the local site's job model run as SLURM batch jobs, through SLURM's own
commands (sbatch, squeue, scontrol, scancel) on this host or, with ``ssh``, on a login node.

Each node's instances are one job array (task id = instance index; a sweep's max_parallel is the
array's ``%`` limit); a job waits for its parents' arrays with ``afterok``. Every job is named
``paas-<deployment uuid>`` with its node as comment, so the driver finds its jobs from SLURM
alone: a rerun submits only what SLURM and the records do not know, and delete cancels by name.

Layout under the site's ``workdir`` (on a file system the login and compute nodes share):
``.runner-<digest>/`` (slurm_job.py, agent.py, staging.py), and per deployment ``<uuid>/`` with
``specs/<node>/<index>.json`` (what to run), ``records/<node>/<index>`` (what happened, written
by the task), ``jobs/<node>/<index>/`` (each job's directory, as on the local site),
``slurm/<node>-<index>.log`` (SLURM's own output) and ``secrets/<name>`` (sealed credentials).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import posixpath
import re
import shlex
import subprocess
import tarfile
import tempfile
import time
from secrets import token_bytes, token_hex

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs
from ansible_collections.paas.orchestrator.plugins.module_utils import staging
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers import local_agent
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers import slurm_job
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    DeploymentError,
    Driver,
    Observed,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.local import (
    module_source,
    default_workdir,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds

_STATES = {
    slurm_job.PENDING: "CREATED",
    slurm_job.RUNNING: "CONFIGURING",
    slurm_job.SUCCEEDED: "STARTED",
    slurm_job.FAILED: "ERROR",
}
# SLURM job states (squeue %T) of a job that has not ended; the first ones have not started.
WAITING = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")
ACTIVE = WAITING + ("RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "STAGE_OUT",
                    "SIGNALING", "RESIZING", "STOPPED")
NEVER = "DependencyNeverSatisfied"
# What SLURM's commands say when no connection to slurmctld was made: nothing reached it, so
# even sbatch may be repeated. Other commands are also repeated on slurm_job.TRANSIENT errors
# (a reply lost while the controller restarts), which would make sbatch submit twice.
_UNREACHABLE = re.compile(r"Unable to contact slurm controller|Connection refused")
# A job may outlive its timeout by this much before SLURM kills it: the task enforces the
# timeout itself, so that a timed-out attempt can be retried as on the local site.
TIME_GRACE = 60
# A requeued job held for BeginTime is released this many seconds after we first see it held,
# not at once: slurmd revoked the old run's credential with a whole-second time, and a job
# started again within that second dies with "Job credential revoked" (seen here).
RELEASE_AFTER = 3.0
SQUEUE_FORMAT = "%i|%T|%r|%k"
# Jobs are looked for among the user's own: deployment uuids come from names, which another
# user of the cluster may have chosen too. Each script is one line: over SSH it passes through
# the user's login shell, and csh's quotes do not span lines.
_SQUEUE = 'squeue --noheader --array --states=all --user="$(id -un)" --name="$1" --format="$2"'
# $1 job name, $2 format, $3 deployment dir; record paths on stdin
_OBSERVE = (_SQUEUE + " || exit; printf '\\036\\n'; cd \"$3\" 2>/dev/null || exit 0; "
            "xargs -0 -r cat 2>/dev/null; exit 0")
_DELETE = 'scancel --user="$(id -un)" --name="$1" || exit; ' + _SQUEUE
# $1 work dir, $2 runner dir name; a tar of the runner on stdin
_INSTALL = ('set -e; umask 077; mkdir -p "$1"; cd "$1"; [ -d "$2" ] && exit 0; '
            't=$(mktemp -d "$2.tmp-XXXXXX"); tar --no-same-owner -xf - -C "$t"; '
            'mv -T "$t" "$2" 2>/dev/null || rm -rf "$t"')
_PUT = 'set -e; umask 077; mkdir -p "$1"; cd "$1"; tar --no-same-owner -xf -'
_SETTINGS = {"workdir": str, "partition": str, "account": str, "qos": str, "python": str,
             "ssh": dict, "command_timeout": (int, float), "controller_wait": (int, float)}
_SSH_SETTINGS = {"host": str, "user": str, "port": int, "key_file": str,
                 "known_hosts_file": str}


def _check_settings(name, given, allowed, where):
    for setting, value in given.items():
        wanted = allowed.get(setting)
        if wanted is not None and (not isinstance(value, wanted) or isinstance(value, bool)):
            raise SiteConfigError("site '%s': %s%s has the wrong type" % (name, where, setting))


def _ranges(indexes):
    """Sorted instance indexes -> SLURM's array syntax: [0, 1, 2, 5] -> '0-2,5'."""
    parts, start = [], None
    for position, index in enumerate(indexes):
        if start is None:
            start = index
        if position + 1 == len(indexes) or indexes[position + 1] != index + 1:
            parts.append(str(start) if start == index else "%d-%d" % (start, index))
            start = None
    return ",".join(parts)


def _tar(members):
    """An in-memory tar of {path: bytes, or None for a directory}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        now = time.time()
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.mtime = now
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o700
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o600
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _last_line(data):
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else "no message"


class SlurmDriver(Driver):
    site_type = "slurm"
    supported_kinds = (kinds.JOB,)
    passive_kinds = (kinds.RUNTIME, kinds.DATA, kinds.ABSTRACT)

    def __init__(self, site):
        super().__init__(site)
        _check_settings(self.name, site, _SETTINGS, "")
        ssh = site.get("ssh")
        if ssh is not None:
            _check_settings(self.name, ssh, _SSH_SETTINGS, "ssh.")
            if not ssh.get("host"):
                raise SiteConfigError("site '%s': ssh needs a host" % self.name)
        self.ssh = ssh
        self.python = site.get("python") or "python3"
        self.command_timeout = site.get("command_timeout") or 60
        self.controller_wait = site.get("controller_wait", 60)
        self.options = ["--%s=%s" % (name, site[name]) for name in ("partition", "account", "qos")
                        if site.get(name)]
        self._workdir = None
        self._installed = None
        self._held = {}  # requeued job id -> when this driver first saw it held

    # -- running commands, here or on the login node ---------------------------------------
    def _ssh_command(self):
        control = os.path.join(tempfile.gettempdir(), "paas-ssh-%d" % os.getuid())
        os.makedirs(control, mode=0o700, exist_ok=True)
        found = os.lstat(control)
        if found.st_uid != os.getuid() or found.st_mode & 0o077 or not os.path.isdir(control):
            # another user's directory would let them into our connection
            raise ProviderError("site '%s': %s is not a private directory of ours; remove it"
                                % (self.name, control))
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % self.command_timeout,
                "-o", "ServerAliveInterval=15",
                # one connection for the commands of a run: each is then a few milliseconds
                "-o", "ControlMaster=auto", "-o", "ControlPersist=60",
                "-o", "ControlPath=%s" % os.path.join(control, "%C")]
        if self.ssh.get("port"):
            argv += ["-p", str(self.ssh["port"])]
        if self.ssh.get("user"):
            argv += ["-l", self.ssh["user"]]
        if self.ssh.get("key_file"):
            argv += ["-i", os.path.expanduser(self.ssh["key_file"]), "-o", "IdentitiesOnly=yes"]
        if self.ssh.get("known_hosts_file"):
            argv += ["-o", "UserKnownHostsFile=%s"
                     % os.path.expanduser(self.ssh["known_hosts_file"])]
        return argv + ["--", self.ssh["host"]]

    def _run(self, argv, stdin=b"", env=None):
        """Run ``argv`` on the site; ``env`` values go on stdin, never on a command line.
        The site being unreachable is a ProviderError; other failures are the caller's."""
        names = list(env or ())
        if names:
            reads = "".join("IFS= read -r %s && export %s && " % (name, name) for name in names)
            argv = ["sh", "-c", reads + 'exec "$@"', "sh"] + argv
            stdin = "".join(env[name] + "\n" for name in names).encode("utf-8") + stdin
        if self.ssh is not None:
            argv = self._ssh_command() + [" ".join(shlex.quote(arg) for arg in argv)]
        try:
            done = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=self.command_timeout,
                                  check=False)
        except OSError as exc:
            raise ProviderError("site '%s': cannot run %s: %s"
                                % (self.name, argv[0], exc.strerror)) from None
        except subprocess.TimeoutExpired:
            raise ProviderError("site '%s': %s did not answer in %d s"
                                % (self.name, argv[0], self.command_timeout)) from None
        if self.ssh is not None and done.returncode == 255:
            raise ProviderError("site '%s': cannot reach %s over SSH: %s"
                                % (self.name, self.ssh["host"], _last_line(done.stderr)))
        return done

    def _slurm(self, argv, stdin=b"", env=None, what=None, transient=slurm_job.TRANSIENT):
        """A command's output; a SLURM controller that cannot be reached (``transient``
        errors) is waited for (a restart) up to controller_wait seconds, then it and any other
        failure are a ProviderError naming the command (``what``, default argv[0]) and its
        message."""
        deadline = time.monotonic() + self.controller_wait
        delay = 0.5
        while True:
            done = self._run(argv, stdin, env)
            if done.returncode == 0:
                return done.stdout.decode("utf-8", "replace")
            message = _last_line(done.stderr)
            if not transient.search(message) or time.monotonic() + delay > deadline:
                raise ProviderError("site '%s': %s failed: %s"
                                    % (self.name, what or argv[0], message))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    # -- layout -----------------------------------------------------------------------------
    def workdir(self):
        if self._workdir is None:
            given = self.site.get("workdir")
            if self.ssh is None:
                default = os.path.join(os.path.dirname(default_workdir()), "slurm")
                self._workdir = os.path.abspath(os.path.expanduser(given or default))
            elif given and given.startswith("/"):
                self._workdir = posixpath.normpath(given)
            else:  # relative to the remote user's home
                relative = (given or ".local/share/paas-orchestrator/slurm")
                relative = relative[2:] if relative.startswith("~/") else relative
                home = self._slurm(["sh", "-c", "cd && pwd -P"], what="finding the home "
                                   "directory").strip()
                self._workdir = posixpath.join(home, relative)
        return self._workdir

    def directory(self, deployment_uuid):
        return posixpath.join(self.workdir(), deployment_uuid)

    def _runner(self):
        """The runner's directory on the site, installed once per content version."""
        if self._installed is None:
            sources = {"slurm_job.py": module_source(slurm_job),
                       "agent.py": module_source(local_agent),
                       "staging.py": module_source(staging)}
            digest = hashlib.sha256(b"".join(sources[name] for name in sorted(sources)))
            name = ".runner-" + digest.hexdigest()[:16]
            self._slurm(["sh", "-c", _INSTALL, "sh", self.workdir(), name], _tar(sources),
                        what="installing the job runner in %s" % self.workdir())
            self._installed = posixpath.join(self.workdir(), name)
        return self._installed

    # -- what SLURM and the records say -----------------------------------------------------
    def _observe(self, deployment_uuid, keys):
        """({key: (job id, state, reason)}, {key: record state}) in one command: squeue for
        every job of the deployment, and the records of ``keys``."""
        paths = [slurm_job.record_path(*_split(key)) for key in keys]
        output = self._slurm(["sh", "-c", _OBSERVE, "sh", "paas-" + deployment_uuid,
                              SQUEUE_FORMAT, self.directory(deployment_uuid)],
                             "\0".join(paths).encode("utf-8"), what="squeue")
        listing, _sep, records = output.partition("\036\n")
        found = {}
        for line in listing.splitlines():
            fields = line.split("|", 3)
            if len(fields) != 4 or "_" not in fields[0]:
                continue
            job_id, state, reason, node = fields
            key = "%s#%s" % (node, job_id.rpartition("_")[2])
            # the newest job of a key: older ones are of a deployment of the same name that was
            # deleted (or an attempt abandoned) less than MinJobAge ago
            if key not in found or _array_id(job_id) > _array_id(found[key][0]):
                found[key] = (job_id, state, reason)
        return found, slurm_job.replay(records.splitlines())

    # -- the driver interface ---------------------------------------------------------------
    def spec(self, plan, resource, deployment_uuid, job_spec):
        # GPUs are the one resource the backend-neutral job spec leaves out
        node = plan.topology.nodes[resource.node]
        gpus = node.properties.get("num_gpus",
                                   jobs.host_resources(plan.topology, node).get("num_gpus"))
        if gpus is not None and (not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0):
            raise DeploymentError("num_gpus of job '%s' must be a whole number, not %r"
                                  % (resource.node, gpus))
        return dict(job_spec, gpus=gpus)

    def submit(self, deployment_uuid, items, secrets):
        keys = [item["key"] for item in items if item["kind"] == kinds.JOB]
        found, records = self._observe(deployment_uuid, keys) if keys else ({}, {})
        physical = {}
        todo = []
        for item in items:
            key = item["key"]
            # Ours: a job that has not ended, or one that left records (an ended job without any
            # is of an earlier deployment of this name, whose directory is gone).
            if key in found and (found[key][1] in ACTIVE or key in records):
                physical[key] = found[key][0]
            elif key in records:  # ran once, and SLURM has forgotten it since
                physical[key] = records[key]["job"]
            elif item["kind"] == kinds.JOB:
                todo.append(item["spec"])
        if todo:
            physical.update(self._submit(deployment_uuid, todo, secrets, found, records))
        return physical

    def _submit(self, deployment_uuid, specs, secrets, found, records):
        directory = self.directory(deployment_uuid)
        runner = self._runner()
        members = {deployment_uuid + "/slurm": None}
        nodes = {}
        for spec in specs:
            nodes.setdefault(spec["node"], []).append(spec)
            members["%s/%s" % (deployment_uuid, slurm_job.spec_path(spec["node"], spec["index"]))] = \
                json.dumps(spec).encode("utf-8")
            members["%s/%s/%s" % (deployment_uuid, slurm_job.RECORDS, spec["node"])] = None
        env = None
        if secrets and any(spec["inputs"] or spec["outputs"] for spec in specs):
            key, name = token_bytes(32), token_hex(8)
            members["%s/%s/%s" % (deployment_uuid, slurm_job.SECRETS, name)] = slurm_job.seal(
                key, json.dumps(secrets).encode("utf-8"))
            env = {slurm_job.SECRETS_ENV: "%s:%s" % (name, key.hex())}
        self._slurm(["sh", "-c", _PUT, "sh", self.workdir()], _tar(members),
                    what="writing the job specs in %s" % directory)
        arrays = {}  # node -> array job id, of what is submitted now
        physical = {}
        for node, group in nodes.items():  # plan order: parents first
            after = self._parents(group[0]["parents"], found, records, arrays)
            if after is None:
                continue  # a parent failed for good: the engine fails the deployment
            indexes = sorted(spec["index"] for spec in group)
            array_id = self._sbatch(deployment_uuid, directory, runner, group[0], indexes,
                                    after, env)
            arrays[node] = array_id
            physical.update(("%s#%d" % (node, index), "%s_%d" % (array_id, index))
                            for index in indexes)
        return physical

    def _parents(self, parents, found, records, arrays):
        """The array job ids to wait for (afterok): those of parents not yet done; None when a
        parent failed for good."""
        after = []
        for parent in parents:
            node = _split(parent)[0]
            if node in arrays:
                after.append(arrays[node])
                continue
            status = records.get(parent, {}).get("status")
            job = found.get(parent)
            if status == slurm_job.FAILED:
                return None
            if status != slurm_job.SUCCEEDED and job is not None and job[1] in ACTIVE:
                after.append(job[0].rpartition("_")[0])
        return sorted(set(after))

    def _sbatch(self, deployment_uuid, directory, runner, spec, indexes, after, env):
        node = spec["node"]
        array = _ranges(indexes)
        if spec.get("group_limit"):
            array += "%%%d" % spec["group_limit"]
        argv = ["sbatch", "--parsable", "--job-name=paas-" + deployment_uuid,
                "--comment=" + node, "--array=" + array, "--chdir=" + directory,
                "--output=%s/slurm/%s-%%a.log" % (directory, node), "--open-mode=append",
                "--requeue"] + self.options
        if spec.get("cpus"):
            argv.append("--cpus-per-task=%d" % max(1, math.ceil(spec["cpus"])))
        if spec.get("mem_mb"):
            argv.append("--mem=%dM" % spec["mem_mb"])
        if spec.get("gpus"):
            argv.append("--gres=gpu:%d" % spec["gpus"])
        if spec.get("timeout"):
            argv.append("--time=%d" % math.ceil((spec["timeout"] + TIME_GRACE) / 60))
        if after:
            argv += ["--dependency=afterok:" + ":".join(after), "--kill-on-invalid-dep=yes"]
        script = "#!/bin/sh\nexec %s -S %s %s %s\n" % (
            shlex.quote(self.python), shlex.quote(posixpath.join(runner, "slurm_job.py")),
            shlex.quote(directory), shlex.quote(node))
        output = self._slurm(argv, script.encode("utf-8"), env, transient=_UNREACHABLE)
        return output.strip().split(";")[0]

    def poll(self, deployment_uuid, keys):
        found, records = self._observe(deployment_uuid, keys)
        observed, release = {}, []
        directory = self.directory(deployment_uuid)
        for key in keys:
            record = records.get(key) or {"status": slurm_job.PENDING, "attempt": 0}
            job_id, state, reason = found.get(key) or (record.get("job"), None, None)
            status, error = self._status(key, record, job_id, state, reason)
            if state in WAITING and reason == "BeginTime" and record.get("requeued"):
                held = self._held.setdefault(job_id, time.monotonic())
                if time.monotonic() - held >= RELEASE_AFTER:
                    release.append(job_id)
                    del self._held[job_id]  # a later requeue is a new hold
            attributes = {"job_dir": local_agent.job_dir(directory, key),
                          "attempts": record["attempt"], "exit_code": record.get("rc"),
                          "state": status, "slurm_job_id": job_id}
            observed[key] = Observed(_STATES[status], attributes, error)
        if release:
            # A requeued job waits out SLURM's credential lifetime (about 120 s) before it may
            # start again; ours ended, so it may start now. Best effort: a job that started
            # meanwhile makes scontrol complain, and the hold ends by itself anyway.
            self._run(["scontrol", "update", "JobId=" + ",".join(release), "StartTime=now"])
        return observed

    @staticmethod
    def _status(key, record, job_id, state, reason):
        """(status, error) of one job from its record and what squeue says of it."""
        if record["status"] == slurm_job.SUCCEEDED or state == "COMPLETED":
            return slurm_job.SUCCEEDED, None
        if record["status"] == slurm_job.FAILED:
            return slurm_job.FAILED, "job %s failed: %s" % (key, record.get("reason"))
        if reason == NEVER:
            return slurm_job.FAILED, "job %s failed: parent job failed" % key
        if state is None:
            return slurm_job.FAILED, ("job %s failed: SLURM no longer knows it (job %s) and it "
                                      "left no result" % (key, job_id or "never started"))
        if state in WAITING:
            return slurm_job.PENDING, None
        if state in ACTIVE:
            return slurm_job.RUNNING, None
        return slurm_job.FAILED, "job %s failed: SLURM job %s ended %s (%s)" % (
            key, job_id, state, reason)

    def delete(self, deployment_uuid):
        states = self._slurm(["sh", "-c", _DELETE, "sh", "paas-" + deployment_uuid, "%T"],
                             what="scancel").split()
        if any(state in ACTIVE for state in states):
            return False  # cancelled jobs still being killed; their files stay until gone
        self._slurm(["rm", "-rf", "--", self.directory(deployment_uuid)])
        return True


def _array_id(job_id):
    return int(job_id.partition("_")[0])


def _split(key):
    node, _sep, index = key.rpartition("#")
    return node, int(index)
