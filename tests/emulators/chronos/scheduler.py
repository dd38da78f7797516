# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Chronos scheduler: jobs as Chronos 3 (de)serializes them, ISO8601 schedules,
dependencies, retries and counts, and each run's command executed for real on this host.

Sources followed (mesos/chronos): JobDeserializer/JobSerializer (fields, defaults, order),
Iso8601Expressions and Schedule (Rn gives n+1 invocations), JobUtils.skipForward (an
invocation more than epsilon late is skipped), Iso8601JobResource, DependentJobResource and
JobManagementResource (validation, answers, re-parenting on delete).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

JOB_NAME = re.compile(r"[\w\s\.#_-]+")
ISO8601 = re.compile(r"(R[0-9]*)/(.*)/(P.*)")
PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
# Joda's Period fields in seconds; years and months are taken as 365 and 30 days.
PERIOD_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)
CONSTRAINT_OPERATORS = ("EQUALS", "LIKE", "UNLIKE")
# Chronos's SchedulerConfiguration defaults for what a job leaves out.
DEFAULTS = {"epsilon": "PT60S", "retries": 2, "cpus": 0.1, "mem": 128.0, "disk": 256.0,
            "runAsUser": "root"}
DEFAULT_KNOBS = {
    "credentials": None,       # "user:password": HTTP Basic required (Chronos --http_credentials)
    "token": None,             # a Bearer token accepted too (an IAM-aware proxy in front)
    "error_rate": 0.0,         # fraction of API requests answered with a 5xx
    "error_statuses": [500, 502, 503],
    "error_path": None,        # regex on "METHOD /path?query"; None: every API request
    "act_on_error": False,     # do the request, then answer the 5xx (the answer is lost)
    "seed": 0,
    "tick": 0.1,               # seconds between scheduler passes (Mesos offer latency, roughly)
    "max_parallel": 4,         # tasks running at once
    "task_timeout": None,      # seconds before a run is killed (a failed attempt)
}


class ChronosError(Exception):
    """An answer other than 2xx: ``status``, and ``body`` (a JSON-able value or text)."""

    def __init__(self, status, body=""):
        super().__init__(status, body)
        self.status = status
        self.body = body


def _bad_request(message):
    # Iso8601JobResource answers an ApiResult; status is Response.Status.BAD_REQUEST.toString
    return ChronosError(400, {"message": message, "status": "Bad Request"})


def now_iso(epoch=None):
    """Joda's DateTime.toString in UTC, as Chronos writes lastSuccess and lastError."""
    moment = dt.datetime.fromtimestamp(time.time() if epoch is None else epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def period_seconds(text):
    match = PERIOD.fullmatch(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError("bad ISO8601 period %r" % text)
    return sum(float(value) * unit for value, unit in zip(match.groups(), PERIOD_SECONDS)
               if value)


def parse_schedule(text, now=None):
    """(recurrences or None for ever, start epoch, period seconds), Iso8601Expressions.parse;
    an empty start is now minus one second."""
    match = ISO8601.fullmatch(text or "")
    if not match:
        raise ValueError(text)
    repeat, start, period = match.groups()
    recurrences = None if len(repeat) == 1 else int(repeat[1:])
    if start:
        start_epoch = dt.datetime.fromisoformat(start).timestamp()
    else:
        start_epoch = (time.time() if now is None else now) - 1
    return recurrences, start_epoch, period_seconds(period)


class ChronosEmulator:
    """The jobs, their schedules and runs. Thread-safe; ``start()`` starts the scheduler."""

    def __init__(self, state_dir=None, **knobs):
        self.lock = threading.RLock()
        self.knobs = dict(DEFAULT_KNOBS)
        self._check_knobs(knobs)
        self.knobs.update(knobs)
        self._random = random.Random(self.knobs["seed"])
        self.state_dir = state_dir
        self._scratch = None if state_dir else tempfile.mkdtemp(prefix="chronos-emulator-")
        self.jobs = {}        # name -> the job as Chronos serializes it, in creation order
        self.runtime = {}     # name -> next, k, done_parents, queued, running, attempt
        self.runs = []        # every attempt: {"job", "attempt", "rc", "reason", "start", "end"}
        self.counters = {}
        self._processes = {}  # name -> Popen of its running attempt
        self._running = set()
        self._stopping = threading.Event()
        self._thread = None
        self._load()

    # -- knobs, counters, persistence ---------------------------------------------------
    @staticmethod
    def _check_knobs(knobs):
        unknown = sorted(set(knobs) - set(DEFAULT_KNOBS))
        if unknown:
            raise ValueError("unknown knob(s): %s" % ", ".join(unknown))
        rate = knobs.get("error_rate", 0.0)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError("error_rate must be within [0, 1]")

    def configure(self, **knobs):
        with self.lock:
            self._check_knobs(knobs)
            self.knobs.update(knobs)
            if "seed" in knobs:
                self._random = random.Random(knobs["seed"])
            self.save()
            return dict(self.knobs)

    def count(self, what):
        with self.lock:
            self.counters[what] = self.counters.get(what, 0) + 1

    def fault(self, method, target):
        """The 5xx to answer for this request, or None (drawn from the seeded sequence)."""
        with self.lock:
            pattern = self.knobs["error_path"]
            if pattern and not re.search(pattern, "%s %s" % (method, target)):
                return None
            if self._random.random() >= float(self.knobs["error_rate"]):
                return None
            return self._random.choice(list(self.knobs["error_statuses"]))

    def _state_file(self):
        return os.path.join(self.state_dir, "chronos.json") if self.state_dir else None

    def snapshot(self):
        with self.lock:
            return {"knobs": self.knobs, "jobs": list(self.jobs.values()),
                    "runtime": self.runtime, "runs": self.runs, "counters": self.counters}

    def save(self):
        path = self._state_file()
        if path is None:
            return
        with self.lock:
            data = json.dumps(self.snapshot(), sort_keys=True).encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".chronos-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def _load(self):
        path = self._state_file()
        if path is None or not os.path.exists(path):
            return
        with open(path) as handle:
            data = json.load(handle)
        self.knobs.update(data.get("knobs") or {})
        self.jobs = {job["name"]: job for job in data.get("jobs") or []}
        self.runtime = data.get("runtime") or {}
        self.runs = data.get("runs") or []
        self.counters = data.get("counters") or {}
        for state in self.runtime.values():
            # a task of the previous process was lost: Chronos runs it again
            state["queued"] = state["queued"] or state["running"]
            state["running"] = False

    def sandbox(self, name):
        """The job's work directory (a Mesos sandbox that outlives its runs)."""
        return os.path.join(self.state_dir or self._scratch, "sandbox", name)

    # -- the REST operations --------------------------------------------------------------
    def add_scheduled(self, body):
        job = self._job(body, dependent=False)
        try:
            recurrences, start, _period = parse_schedule(job["schedule"])
        except ValueError:
            raise _bad_request("Cannot parse schedule '%s' (wtf bro)" % job["schedule"]) from None
        if start < time.time() - 365 * 86400:
            raise _bad_request("Scheduled start date '%s' is more than 1 year in the past!"
                               % now_iso(start))
        # stored with its start, as Chronos keeps the parsed schedule ("R1//PT1M": now)
        repeat, _start, period = job["schedule"].split("/", 2)
        job["schedule"] = "%s/%s/%s" % (repeat, now_iso(start), period)
        with self.lock:
            self._register(job)
            self._plan(job["name"])
            self.save()

    def add_dependent(self, body):
        job = self._job(body, dependent=True)
        with self.lock:
            if not job["parents"]:
                # DependentJobResource: a plain Exception, so a 500 with no entity
                raise ChronosError(500, "")
            for parent in job["parents"]:
                if parent not in self.jobs:
                    raise ChronosError(400, "requirement failed: Parent job '%s' not found"
                                       % parent)
            self._register(job)
            self.save()

    def _register(self, job):
        """A new job, or one replacing the job of that name (its counts come from the body)."""
        name = job["name"]
        self.jobs.pop(name, None)
        self.jobs[name] = job
        self.runtime[name] = {"next": None, "k": 0, "done_parents": [], "queued": False,
                              "running": False, "attempt": 0}

    def _plan(self, name):
        """The job's next invocation: the first one not more than epsilon late."""
        job, state = self.jobs[name], self.runtime[name]
        recurrences, start, period = parse_schedule(job["schedule"])
        epsilon = period_seconds(job["epsilon"])
        now = time.time()
        k = state["k"]
        while recurrences is None or k <= recurrences:
            moment = start + k * period
            if moment + epsilon >= now:
                state.update(k=k, next=moment)
                return
            if period <= 0:
                break
            k += 1
        state.update(k=k, next=None)  # "Filtered job ... as it is no longer valid"

    def list_jobs(self):
        with self.lock:
            return [self.render(job) for job in self.jobs.values()]

    def search(self, name=None, command=None, any_=None, limit=None, offset=None):
        """JobManagementResource.search: name/command substrings (case-insensitive); ``any``
        brings back a job the others refused when its name or command holds it."""
        limit = 10 if limit is None else limit
        offset = 0 if offset is None else offset
        found = []
        with self.lock:
            for job in self.jobs.values():
                valid = True
                if name and name.lower() not in job["name"].lower():
                    valid = False
                if command and command.lower() not in job["command"].lower():
                    valid = False
                if not valid and any_ and (any_.lower() in job["name"].lower()
                                           or any_.lower() in job["command"].lower()):
                    valid = True
                if valid:
                    found.append(self.render(job))
        return found[offset:offset + limit]

    def delete(self, name):
        with self.lock:
            job = self.jobs.get(name)
            if job is None:
                raise ChronosError(400, "requirement failed: Job '%s' not found" % name)
            for child in [other for other in self.jobs.values()
                          if name in (other.get("parents") or ())]:
                self._reparent(child, job)
            del self.jobs[name]
            self.runtime.pop(name, None)
            process = self._processes.get(name)
            self.save()
        if process is not None:
            _kill(process)

    def _reparent(self, child, job):
        """Chronos keeps the children of a deleted job: they take its parents, or its
        schedule when it had one."""
        if "parents" in job:
            child["parents"] = [p for p in child["parents"] if p != job["name"]] + [
                p for p in job["parents"] if p not in child["parents"]]
            return
        del child["parents"]
        child["schedule"], child["scheduleTimeZone"] = job["schedule"], job["scheduleTimeZone"]
        self.runtime[child["name"]].update(k=0, done_parents=[])
        self._plan(child["name"])

    def trigger(self, name):
        with self.lock:
            if name not in self.jobs:
                raise ChronosError(400, "requirement failed: Job '%s' not found" % name)
            self.runtime[name]["queued"] = True
            self.save()

    # -- job documents ----------------------------------------------------------------------
    def _job(self, body, dependent):
        """The job as JobDeserializer reads ``body``, with Chronos's defaults filled in."""
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) \
                or not isinstance(body.get("command"), str):
            raise _bad_request("a job needs a name and a command")
        name = body["name"]
        if not JOB_NAME.fullmatch(name):
            raise _bad_request("java.lang.IllegalArgumentException: requirement failed: the "
                               "job's name is invalid. Allowed names: '%s'"
                               % "([\\w\\s\\.#_-]+)")
        if body.get("uris") and body.get("fetch"):
            raise _bad_request("Tried to add both uri (deprecated) and fetch parameters on %s"
                               % name)
        if "epsilon" in body:
            try:
                period_seconds(body["epsilon"])
            except (TypeError, ValueError):
                raise _bad_request("Invalid format: \"%s\"" % body["epsilon"]) from None

        def get(field, default):
            value = body.get(field)
            return default if value is None else value

        def number(field):
            # Chronos takes the configured default when a resource is missing or 0
            value = body.get(field)
            return float(value) if value else DEFAULTS[field]

        job = {
            "name": name, "command": body["command"], "shell": bool(get("shell", True)),
            "epsilon": get("epsilon", DEFAULTS["epsilon"]), "executor": get("executor", ""),
            "executorFlags": get("executorFlags", ""), "taskInfoData": get("taskInfoData", ""),
            "retries": int(get("retries", DEFAULTS["retries"])), "owner": get("owner", ""),
            "ownerName": get("ownerName", ""), "description": get("description", ""),
            "async": bool(get("async", False)), "successCount": int(get("successCount", 0)),
            "errorCount": int(get("errorCount", 0)), "lastSuccess": get("lastSuccess", ""),
            "lastError": get("lastError", ""), "cpus": number("cpus"), "disk": number("disk"),
            "mem": number("mem"), "disabled": bool(get("disabled", False)),
            "softError": bool(get("softError", False)),
            "dataProcessingJobType": bool(get("dataProcessingJobType", False)),
            "errorsSinceLastSuccess": int(get("errorsSinceLastSuccess", 0)),
            "fetch": [{"uri": f.get("uri", ""), "executable": bool(f.get("executable")),
                       "cache": bool(f.get("cache")), "extract": bool(f.get("extract"))}
                      for f in get("fetch", [])],
            "uris": [str(uri) for uri in get("uris", [])],
            "environmentVariables": [{"name": str(v["name"]), "value": str(v["value"])}
                                     for v in get("environmentVariables", [])],
            "arguments": [str(a) for a in get("arguments", [])],
            "highPriority": bool(get("highPriority", False)),
            "runAsUser": get("runAsUser", DEFAULTS["runAsUser"]),
        }
        if body.get("gpus") is not None:
            job["gpus"] = int(body["gpus"])
        if body.get("container") is not None:
            job["container"] = _container(body["container"])
        # an unknown operator is dropped without a word, as JobDeserializer does
        job["constraints"] = [[str(c[0]), str(c[1]), str(c[2])] for c in get("constraints", [])
                              if isinstance(c, list) and len(c) == 3
                              and c[1] in CONSTRAINT_OPERATORS]
        if dependent or "parents" in body:
            if not dependent:
                raise _bad_request("a job with parents goes to /scheduler/dependency")
            job["parents"] = list(dict.fromkeys(str(p) for p in get("parents", [])))
        else:
            # JobDeserializer: no schedule and no parents means "now, once"
            job["schedule"] = get("schedule", "R1//PT24H")
            job["scheduleTimeZone"] = get("scheduleTimeZone", "")
        return job

    @staticmethod
    def render(job):
        """The job as GET answers it: uris and fetch mirror each other (JobManagementResource)."""
        shown = copy.deepcopy(job)
        if not shown["fetch"]:
            shown["fetch"] = [{"uri": uri, "executable": False, "cache": False, "extract": False}
                              for uri in shown["uris"]]
        else:
            shown["uris"] = [item["uri"] for item in shown["fetch"]]
        return shown

    # -- running ------------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="chronos-scheduler",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self.lock:
            processes = list(self._processes.values())
        for process in processes:
            _kill(process)
        deadline = time.monotonic() + 10
        while self._running and time.monotonic() < deadline:
            time.sleep(0.02)
        self.save()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _loop(self):
        while not self._stopping.wait(float(self.knobs["tick"])):
            with self.lock:
                now = time.time()
                for name, job in self.jobs.items():
                    state = self.runtime[name]
                    if "schedule" in job and state["next"] is not None and state["next"] <= now:
                        if not job["disabled"]:
                            state["queued"] = True
                        state["k"] += 1
                        self._plan(name)
                ready = [name for name, state in self.runtime.items()
                         if state["queued"] and name not in self._running]
                for name in ready[:max(0, int(self.knobs["max_parallel"]) - len(self._running))]:
                    self.runtime[name].update(queued=False, running=True)
                    self._running.add(name)
                    threading.Thread(target=self._run, args=(name,), daemon=True,
                                     name="chronos-task-%s" % name).start()

    def _run(self, name):
        """One invocation: attempts until one succeeds or ``retries`` more have failed."""
        try:
            while True:
                with self.lock:
                    job = copy.deepcopy(self.jobs.get(name))
                    state = self.runtime.get(name)
                    if job is None or self._stopping.is_set():
                        return
                    attempt = state["attempt"]
                rc, reason = self._attempt(job, attempt)
                with self.lock:
                    if self.jobs.get(name) is None or self._stopping.is_set():
                        return
                    if rc == 0:
                        self._succeeded(name)
                        return
                    if attempt < job["retries"]:
                        self.runtime[name]["attempt"] = attempt + 1
                        self.save()
                        continue
                    self._failed(name, reason)
                    return
        finally:
            with self.lock:
                self._running.discard(name)
                if name in self.runtime and not self._stopping.is_set():
                    self.runtime[name]["running"] = False

    def _succeeded(self, name):
        job = self.jobs[name]
        job.update(successCount=job["successCount"] + 1, lastSuccess=now_iso(),
                   errorsSinceLastSuccess=0)
        self.runtime[name]["attempt"] = 0
        for child, other in self.jobs.items():
            if name in (other.get("parents") or ()):
                state = self.runtime[child]
                done = set(state["done_parents"]) | {name}
                if done >= set(other["parents"]):
                    state["done_parents"] = []
                    state["queued"] = not other["disabled"]
                else:
                    state["done_parents"] = sorted(done)
        self.save()

    def _failed(self, name, reason):
        job = self.jobs[name]
        # counted once per invocation, after its retries (INDIGO relies on this)
        job.update(errorCount=job["errorCount"] + 1, lastError=now_iso(),
                   errorsSinceLastSuccess=job["errorsSinceLastSuccess"] + 1)
        self.runtime[name]["attempt"] = 0
        self.runtime[name]["reason"] = reason
        self.save()

    def _attempt(self, job, attempt):
        """Run the job's command once in its sandbox: (exit code, reason)."""
        name = job["name"]
        sandbox = self.sandbox(name)
        os.makedirs(sandbox, exist_ok=True)
        record = {"job": name, "attempt": attempt, "start": now_iso(), "rc": None,
                  "reason": None, "image": (job.get("container") or {}).get("image")}
        rc, reason = None, None
        try:
            for uri in job["uris"] or [item["uri"] for item in job["fetch"]]:
                _fetch(uri, sandbox)
        except (OSError, ValueError) as exc:
            reason = "fetching %s failed: %s" % (uri, exc)
        if reason is None:
            rc, reason = self._execute(job, attempt, sandbox)
        record.update(rc=rc, reason=reason, end=now_iso())
        with self.lock:
            self.runs.append(record)
        return rc, reason

    def _execute(self, job, attempt, sandbox):
        env = dict(os.environ)
        env.update({"MESOS_SANDBOX": sandbox, "CHRONOS_JOB_NAME": job["name"],
                    "CHRONOS_JOB_OWNER": job["owner"], "CHRONOS_JOB_RUN_TIME": now_iso(),
                    "CHRONOS_JOB_RUN_ATTEMPT": str(attempt),
                    "CHRONOS_RESOURCE_CPU": str(job["cpus"]),
                    "CHRONOS_RESOURCE_MEM": str(job["mem"]),
                    "CHRONOS_RESOURCE_DISK": str(job["disk"])})
        env.update({v["name"]: v["value"] for v in job["environmentVariables"]})
        argv = ["/bin/sh", "-c", job["command"]] if job["shell"] \
            else [job["command"]] + job["arguments"]
        with open(os.path.join(sandbox, "stdout"), "ab") as out, \
                open(os.path.join(sandbox, "stderr"), "ab") as err:
            try:
                process = subprocess.Popen(argv, cwd=sandbox, env=env, stdin=subprocess.DEVNULL,
                                           stdout=out, stderr=err, start_new_session=True)
            except OSError as exc:
                return None, "cannot start the command: %s" % exc.strerror
            with self.lock:
                self._processes[job["name"]] = process
            try:
                rc = process.wait(timeout=self.knobs["task_timeout"])
                reason = None if rc == 0 else "exit code %d" % rc
            except subprocess.TimeoutExpired:
                _kill(process)
                rc, reason = None, "killed after %ss" % self.knobs["task_timeout"]
            finally:
                with self.lock:
                    self._processes.pop(job["name"], None)
        return rc, reason


def _container(spec):
    if not isinstance(spec, dict) or not isinstance(spec.get("image"), str):
        raise _bad_request("a container needs an image")
    kind = str(spec.get("type") or "DOCKER").upper()
    if kind not in ("DOCKER", "MESOS"):
        raise _bad_request("No value found for '%s'" % kind)
    volumes = []
    for volume in spec.get("volumes") or []:
        shown = {}
        if volume.get("hostPath") is not None:
            shown["hostPath"] = str(volume["hostPath"])
        shown["containerPath"] = str(volume["containerPath"])
        if volume.get("mode") is not None:
            mode = str(volume["mode"]).upper()
            if mode not in ("RW", "RO"):
                raise _bad_request("No value found for '%s'" % mode)
            shown["mode"] = mode
        volumes.append(shown)
    force = spec.get("forcePullImage")
    container = {"type": kind, "image": spec["image"],
                 "network": str(spec.get("network") or "HOST").upper()}
    if spec.get("networkName"):
        container["networkName"] = spec["networkName"]
    container.update({
        "volumes": volumes,
        "forcePullImage": str(force).lower() == "true" if force is not None else False,
        "parameters": [{"key": str(p["key"]), "value": str(p["value"])}
                       for p in spec.get("parameters") or []],
    })
    return container


def _fetch(uri, sandbox):
    """The Mesos fetcher, for http(s), file URIs and local paths: into the sandbox."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme not in ("http", "https", "file", ""):
        raise ValueError("scheme %r is not fetched by the emulator" % parsed.scheme)
    target = os.path.join(sandbox, os.path.basename(parsed.path) or "index.html")
    if not parsed.scheme:
        shutil.copyfile(uri, target)
        return
    with urllib.request.urlopen(uri, timeout=30) as answer, open(target, "wb") as handle:
        shutil.copyfileobj(answer, handle)


def _kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
