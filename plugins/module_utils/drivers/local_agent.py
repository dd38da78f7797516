# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local site's job agent: one detached process per deployment.

The local driver copies this file (and staging.py beside it) out of the collection and starts
it with ``python agent.py DEPLOYMENT_DIR``; it outlives the Ansible run that started it. It reads
job specs from ``specs/*.json``, runs each job once its parents have succeeded, within the slot
limits, retries it as the spec says, and appends what happens to ``journal.jsonl``. That journal
is the only record: the driver reads it, and a restarted agent replays it, so a job that
succeeded is never run again. Standard library only (it runs outside Ansible).

A job whose spec has input or output files runs through ``agent.py --job DIR KEY``, which stages
in, runs the command and stages out; other jobs run their command under /bin/sh directly, to
keep a trivial job as cheap as xargs would make it.
"""

from __future__ import annotations

import collections
import fcntl
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time

SECRETS_ENV = "PAAS_AGENT_SECRETS"
SPEC_ENV = "PAAS_JOB_SPEC"
IDLE_EXIT = 3.0      # seconds with nothing to do before the agent exits (the driver restarts it)
TICK = 0.2           # longest sleep while waiting for children or new specs

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"


def process_start(pid):
    """When process ``pid`` started (clock ticks since boot), or None if there is no such
    process: with the pid, it tells a job from a later process that reused its pid."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def kill_job(job):
    """SIGKILL the process group of a job the journal says is running, if it is still that job
    (after a reboot or pid reuse the pid belongs to someone else)."""
    pid = job.get("pid")
    if pid and job.get("start") and process_start(pid) == job["start"]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def job_dir(deployment_dir, key):
    node, _hash, index = key.rpartition("#")
    return os.path.join(deployment_dir, "jobs", node, index)


class Journal:
    def __init__(self, path):
        self.path = path
        self.handle = open(path, "a", buffering=1)

    def write(self, **event):
        event["t"] = round(time.time(), 3)
        self.handle.write(json.dumps(event, separators=(",", ":")) + "\n")


class JournalReader:
    """The state the journal describes (key -> {status, attempt, pid, rc}), read incrementally:
    each read() applies only the lines added since the last."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.state = {}

    def read(self):
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return self.state
        end = data.rfind(b"\n") + 1  # a line being written is left for the next read
        self.offset += end
        for line in data[:end].splitlines():
            try:
                self._apply(json.loads(line))
            except ValueError:
                continue  # a line cut short by a kill
        return self.state

    def _apply(self, event):
        key = event.get("key")
        if key is None:
            return
        job = self.state.setdefault(key, {"status": PENDING, "attempt": 0})
        kind = event.get("event")
        if kind == "started":
            job.update(status=RUNNING, attempt=event["attempt"], pid=event["pid"],
                       start=event.get("start"))
        elif kind == "succeeded":
            job.update(status=SUCCEEDED, rc=0)
        elif kind == "retry":
            job.update(status=PENDING, rc=event.get("rc"))
        elif kind == "failed":
            job.update(status=FAILED, rc=event.get("rc"), reason=event.get("reason"))
        elif kind == "lost":
            job.update(status=PENDING)


def replay(path):
    """The whole journal's state."""
    return JournalReader(path).read()


class Agent:
    """Schedules incrementally: a job enters its group's ready queue when its last parent
    succeeds, so each loop costs what changed, not the number of jobs."""

    def __init__(self, directory, slots):
        self.dir = directory
        self.slots = max(1, slots)
        self.specs = {}
        self.loaded = set()
        self.state = replay(os.path.join(directory, "journal.jsonl"))
        self.journal = Journal(os.path.join(directory, "journal.jsonl"))
        self.running = {}   # pid -> key
        # Popen objects must stay referenced until we reap them: one collected while its
        # child runs is reaped by subprocess itself, and the exit would be lost to us.
        self.processes = {}
        self.pidfds = {}    # pid -> pidfd (select on children exiting)
        self.waiting = {}   # key -> parents not yet succeeded
        self.children = {}  # key -> keys that wait for it
        self.ready = {}     # group -> deque of keys ready to run
        self.group_running = {}
        self.unfinished = 0
        self.agent_file = os.path.abspath(__file__)
        self._recover_orphans()

    def _recover_orphans(self):
        """Jobs a killed agent left running: end them and run them again (not an attempt)."""
        for key, job in self.state.items():
            if job["status"] == RUNNING:
                kill_job(job)
                job["status"] = PENDING
                job["attempt"] -= 1
                self.journal.write(key=key, event="lost")

    def status(self, key):
        return self.state.get(key, {}).get("status", PENDING)

    def load_specs(self):
        try:
            names = sorted(os.listdir(os.path.join(self.dir, "specs")))
        except OSError:
            return False
        new = []
        for name in names:
            if name in self.loaded or not name.endswith(".json"):
                continue
            with open(os.path.join(self.dir, "specs", name)) as handle:
                for spec in json.load(handle):
                    if spec["key"] not in self.specs:
                        self.specs[spec["key"]] = spec
                        new.append(spec["key"])
            self.loaded.add(name)
        for key in new:
            self._admit(key)
        return bool(new)

    def _admit(self, key):
        job = self.state.setdefault(key, {"status": PENDING, "attempt": 0})
        if job["status"] in (SUCCEEDED, FAILED):
            return
        self.unfinished += 1
        waiting = set()
        for parent in self.specs[key]["parents"]:
            self.children.setdefault(parent, []).append(key)
            if self.status(parent) != SUCCEEDED:
                waiting.add(parent)
        self.waiting[key] = waiting
        if any(self.status(parent) == FAILED for parent in waiting):
            self._finish(key, FAILED, None, "parent job failed")
        elif not waiting:
            self._enqueue(key)

    def _enqueue(self, key):
        group = self.specs[key]["group"]
        self.ready.setdefault(group, collections.deque()).append(key)

    def _parent_settled(self, key, parent):
        if self.status(key) != PENDING or key not in self.waiting:
            return
        if self.status(parent) == FAILED:
            self._finish(key, FAILED, None, "parent job failed")
        elif self.status(parent) == SUCCEEDED and parent in self.waiting[key]:
            self.waiting[key].discard(parent)
            if not self.waiting[key]:
                self._enqueue(key)

    def next_ready(self):
        """A ready job whose group is under its limit, or None."""
        for group, queue in self.ready.items():
            if not queue:
                continue
            limit = self.specs[queue[0]].get("group_limit")
            if limit and self.group_running.get(group, 0) >= limit:
                continue
            return queue.popleft()
        return None

    def launch(self, key):
        spec = self.specs[key]
        workdir = job_dir(self.dir, key)
        os.makedirs(workdir, exist_ok=True)
        env = dict(os.environ)
        env.pop(SECRETS_ENV, None)  # only the staging wrapper sees credentials
        env.update(spec["env"], PAAS_JOB_KEY=key, PAAS_JOB_DIR=workdir,
                   PAAS_DEPLOYMENT_DIR=self.dir)
        if spec["inputs"] or spec["outputs"]:
            env[SECRETS_ENV] = os.environ.get(SECRETS_ENV, "{}")
            env[SPEC_ENV] = json.dumps(spec)
            argv = [sys.executable, self.agent_file, "--job", self.dir, key]
        else:
            argv = ["/bin/sh", "-c", spec["command"]]
        with open(os.path.join(workdir, "stdout"), "ab") as out, \
                open(os.path.join(workdir, "stderr"), "ab") as err:
            process = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, start_new_session=True)
        job = self.state[key]
        job.update(status=RUNNING, attempt=job["attempt"] + 1, pid=process.pid,
                   start=process_start(process.pid), started=time.time())
        self.running[process.pid] = key
        self.processes[process.pid] = process
        self.group_running[spec["group"]] = self.group_running.get(spec["group"], 0) + 1
        try:
            self.pidfds[process.pid] = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            pass  # no pidfd: the loop polls instead
        self.journal.write(key=key, event="started", attempt=job["attempt"], pid=process.pid,
                           start=job["start"])

    def _finish(self, key, status, rc, reason=None):
        self.state[key].update(status=status, rc=rc)
        self.journal.write(key=key, event=status, rc=rc, reason=reason)
        self.unfinished -= 1
        for child in self.children.get(key, ()):
            self._parent_settled(child, key)

    def reap(self, pid, wait_status):
        key = self.running.pop(pid)
        fd = self.pidfds.pop(pid, None)
        if fd is not None:
            os.close(fd)
        rc = os.waitstatus_to_exitcode(wait_status)
        self.processes.pop(pid).returncode = rc
        group = self.specs[key]["group"]
        self.group_running[group] -= 1
        job = self.state[key]
        if rc == 0:
            self._finish(key, SUCCEEDED, 0)
        elif job["attempt"] <= self.specs[key]["retries"]:
            job.update(status=PENDING, rc=rc)
            self.journal.write(key=key, event="retry", rc=rc, attempt=job["attempt"])
            self._enqueue(key)
        else:
            self._finish(key, FAILED, rc, "exit code %d after %d attempts" % (rc, job["attempt"]))

    def kill_timed_out(self):
        now = time.time()
        for pid, key in list(self.running.items()):
            limit = self.specs[key].get("timeout")
            if limit and now - self.state[key]["started"] > limit:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass

    def wait_children(self, block):
        """Reap finished children; with ``block``, wait up to TICK for one to finish."""
        if block and self.running:
            if len(self.pidfds) == len(self.running):
                select.select(list(self.pidfds.values()), [], [], TICK)
            else:
                time.sleep(TICK / 10)
        elif block:
            time.sleep(TICK)
        while self.running:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.running:
                self.reap(pid, wait_status)

    def cancel(self, *_args):
        for pid in list(self.running):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self.journal.write(key=None, event="cancelled")
        os._exit(0)

    def run(self):
        signal.signal(signal.SIGTERM, self.cancel)
        idle_since = None
        while True:
            if os.path.exists(os.path.join(self.dir, "cancel")):
                self.cancel()
            new = self.load_specs()
            launched = False
            while len(self.running) < self.slots:
                key = self.next_ready()
                if key is None:
                    break
                self.launch(key)
                launched = True
            self.kill_timed_out()
            if not self.running and not self.unfinished and not new:
                idle_since = idle_since or time.time()
                if time.time() - idle_since > IDLE_EXIT:
                    return
            else:
                idle_since = None
            self.wait_children(block=not launched or len(self.running) >= self.slots)


def _load_staging():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "staging.py")
    spec = importlib.util.spec_from_file_location("paas_staging", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _credentials_for(url, secrets):
    best = None
    for prefix, credentials in secrets.items():
        if url.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, credentials)
    return best[1] if best else None


def run_job(_directory, _key):
    """Stage in, run, stage out: the wrapper for jobs that move data. Exit code = the job's."""
    spec = json.loads(os.environ.pop(SPEC_ENV))
    secrets = json.loads(os.environ.pop(SECRETS_ENV, "{}") or "{}")
    staging = _load_staging()
    workdir = os.getcwd()
    try:
        for item in spec["inputs"]:
            staging.stage_in(item["url"], os.path.join(workdir, item["path"]),
                             credentials=_credentials_for(item["url"], secrets))
    except Exception as exc:  # the message is redacted by staging
        sys.stderr.write("paas: staging in failed: %s\n" % exc)
        return 3
    rc = subprocess.call(["/bin/sh", "-c", spec["command"]])
    if rc != 0:
        return rc
    try:
        for item in spec["outputs"]:
            staging.stage_out(os.path.join(workdir, item["path"]), item["url"],
                              credentials=_credentials_for(item["url"], secrets))
    except Exception as exc:
        sys.stderr.write("paas: staging out failed: %s\n" % exc)
        return 4
    return 0


def main(argv):
    if argv[:1] == ["--job"]:
        return run_job(argv[1], argv[2])
    directory = argv[0]
    slots = int(argv[1]) if len(argv) > 1 else (os.cpu_count() or 1)
    lock = open(os.path.join(directory, "agent.lock"), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another agent serves this deployment
    with open(os.path.join(directory, "agent.pid"), "w") as handle:
        handle.write(str(os.getpid()))
    Agent(directory, slots).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
