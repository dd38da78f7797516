# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each SLURM array task of a deployment runs, and the records it leaves.

The SLURM driver copies this file, with local_agent.py (as agent.py) and staging.py beside it,
to the site's work directory, and submits job scripts that run
``python3 -S slurm_job.py DEPLOYMENT_DIR NODE``. The task's index is SLURM_ARRAY_TASK_ID and
its spec ``specs/<node>/<index>.json``. An attempt runs as one of the local agent's does (the
same job directory, environment and staging wrapper, the timeout enforced here), and what
happened is appended to ``records/<node>/<index>``: the driver reads that record, which outlives
SLURM's memory of the job (MinJobAge). A failed attempt with retries left is recorded, then the
task requeues itself (``scontrol requeue``): it never shows FAILED to the jobs that depend on it.

Staging credentials travel sealed: ``secrets/<name>`` holds them encrypted, and the key is only
in the job's environment (``PAAS_SLURM_SECRETS=<name>:<key>``), so neither the file nor the
environment that slurmctld saves to disk gives them away on its own. Standard library only: it
runs on the cluster's nodes, outside Ansible.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

SECRETS_ENV = "PAAS_SLURM_SECRETS"
SPECS, RECORDS, SECRETS = "specs", "records", "secrets"
PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
REQUEUE_WAIT = 60.0  # seconds to keep asking an unreachable controller to requeue us
# What SLURM's commands say while slurmctld restarts or is out of reach: worth asking again.
TRANSIENT = re.compile(r"Unable to contact slurm controller|Connection refused|Socket timed out|"
                       r"Unexpected message received|Zero Bytes were transmitted|"
                       r"Communication connection failure|in standby mode")
_NONCE, _TAG = 16, 32


def spec_path(node, index):
    return "%s/%s/%d.json" % (SPECS, node, index)


def record_path(node, index):
    return "%s/%s/%d" % (RECORDS, node, index)


# -- sealing: HMAC-SHA256 in counter mode for the key stream, then HMAC-SHA256 over nonce and
# ciphertext (encrypt-then-MAC), so that the runner needs nothing beyond the standard library.
def _key_stream(key, nonce, size):
    blocks = bytearray()
    counter = 0
    while len(blocks) < size:
        blocks += hmac.new(key, b"enc" + nonce + counter.to_bytes(8, "big"),
                           hashlib.sha256).digest()
        counter += 1
    return bytes(blocks[:size])


def _xor(data, stream):
    return bytes(a ^ b for a, b in zip(data, stream))


def seal(key, data):
    """``data`` encrypted and authenticated with the 32-byte ``key``."""
    nonce = os.urandom(_NONCE)
    body = _xor(data, _key_stream(key, nonce, len(data)))
    return nonce + body + hmac.new(key, b"mac" + nonce + body, hashlib.sha256).digest()


def unseal(key, blob):
    """The data ``seal`` sealed; ValueError if it was altered or the key is not its key."""
    nonce, body, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    expected = hmac.new(key, b"mac" + nonce + body, hashlib.sha256).digest()
    if len(blob) < _NONCE + _TAG or not hmac.compare_digest(tag, expected):
        raise ValueError("sealed data altered, or not sealed with this key")
    return _xor(body, _key_stream(key, nonce, len(body)))


# -- records
def replay(lines):
    """key -> {status, attempt, rc, reason, job, requeued} from record lines (bytes or str); a
    line cut short is skipped."""
    state = {}
    for line in lines:
        try:
            event = json.loads(line)
            key = event["key"]
        except (ValueError, KeyError, TypeError):
            continue
        job = state.setdefault(key, {"status": PENDING, "attempt": 0, "rc": None,
                                     "reason": None, "job": None, "requeued": False})
        kind = event.get("event")
        if kind == "started":
            job.update(status=RUNNING, attempt=event.get("attempt", 0), job=event.get("job"),
                       requeued=False)
        elif kind == "succeeded":
            job.update(status=SUCCEEDED, rc=0)
        elif kind == "retry":
            job.update(status=PENDING, rc=event.get("rc"), requeued=True)
        elif kind == "failed":
            job.update(status=FAILED, rc=event.get("rc"), reason=event.get("reason"))
    return state


class _Records:
    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path

    def read(self):
        try:
            with open(self.path, "rb") as handle:
                return handle.read().splitlines()
        except FileNotFoundError:
            return []

    def write(self, **event):
        event["t"] = round(time.time(), 3)
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write per line: a reader never sees two lines mixed
        finally:
            os.close(fd)


# -- the task
def _sibling(name):
    """A module shipped beside this file (the local agent, for its job wrapper)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location("paas_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _credentials(deployment_dir, sealed):
    name, _sep, key = sealed.partition(":")
    with open(os.path.join(deployment_dir, SECRETS, os.path.basename(name)), "rb") as handle:
        return unseal(bytes.fromhex(key), handle.read()).decode("utf-8")


def _attempt(argv, workdir, env, timeout):
    """Run one attempt; its exit code, negative for a signal (-9 when the timeout killed it)."""
    with open(os.path.join(workdir, "stdout"), "ab") as out, \
            open(os.path.join(workdir, "stderr"), "ab") as err:
        process = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, start_new_session=True)
    try:
        return process.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        return process.wait()


def _requeue(job_id):
    """Ask SLURM to requeue this task; None when done, else SLURM's reason. A controller that
    is restarting is asked again for a while (requeueing twice is harmless)."""
    deadline = time.monotonic() + REQUEUE_WAIT
    while True:
        done = subprocess.run(["scontrol", "requeue", job_id], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        message = done.stdout.decode("utf-8", "replace").strip()
        # "pending execution": a running task is pending only once requeued, by an earlier
        # try whose answer was lost while the controller restarted
        if done.returncode == 0 or "Job is pending execution" in message:
            return None
        if not TRANSIENT.search(message) or time.monotonic() > deadline:
            return message or "scontrol requeue exited %d" % done.returncode
        time.sleep(2)


def _exit_status(rc):
    return rc if 0 <= rc < 256 else min(255, 128 + abs(rc))


def run(deployment_dir, node):
    index = int(os.environ["SLURM_ARRAY_TASK_ID"])
    key = "%s#%d" % (node, index)
    job_id = "%s_%d" % (os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID")),
                        index)
    sealed = os.environ.pop(SECRETS_ENV, "")
    with open(os.path.join(deployment_dir, spec_path(node, index))) as handle:
        spec = json.load(handle)
    records = _Records(os.path.join(deployment_dir, record_path(node, index)))
    past = replay(records.read()).get(key, {})
    if past.get("status") in (SUCCEEDED, FAILED):
        return _exit_status(past["rc"] or 0)  # started again after it ended: nothing to redo
    # A start without an end (a node lost under it) does not count as an attempt.
    attempt = (past["attempt"] + (past["status"] != RUNNING)) if past else 1
    records.write(key=key, event="started", attempt=attempt, job=job_id,
                  host=socket.gethostname())
    agent = _sibling("agent")
    workdir = agent.job_dir(deployment_dir, key)
    os.makedirs(workdir, exist_ok=True)
    env = dict(os.environ)
    env.update(spec["env"], PAAS_JOB_KEY=key, PAAS_JOB_DIR=workdir,
               PAAS_DEPLOYMENT_DIR=deployment_dir)
    rc = None
    if spec["inputs"] or spec["outputs"]:
        try:
            env[agent.SECRETS_ENV] = _credentials(deployment_dir, sealed) if sealed else "{}"
        except (OSError, ValueError):
            with open(os.path.join(workdir, "stderr"), "ab") as err:
                err.write(b"paas: cannot read the staging credentials\n")
            rc = 3  # as a failed stage-in
        env[agent.SPEC_ENV] = json.dumps(spec)
        argv = [sys.executable, agent.__file__, "--job", deployment_dir, key]
    else:
        argv = ["/bin/sh", "-c", spec["command"]]
    if rc is None:
        rc = _attempt(argv, workdir, env, spec.get("timeout"))
    if rc == 0:
        records.write(key=key, event="succeeded", rc=0)
        return 0
    if attempt <= spec["retries"]:
        # Recorded first: once requeued, SLURM ends this process.
        records.write(key=key, event="retry", rc=rc, attempt=attempt)
        refused = _requeue(job_id)
        if refused is None:
            return _exit_status(rc)
        reason = "exit code %d; SLURM refused to requeue it: %s" % (rc, refused)
    else:
        reason = "exit code %d after %d attempts" % (rc, attempt)
    records.write(key=key, event="failed", rc=rc, reason=reason)
    return _exit_status(rc)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1], sys.argv[2]))
