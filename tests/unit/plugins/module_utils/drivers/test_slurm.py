# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SLURM driver through the engine, against the real SLURM 22.05 cluster of
tests/tooling/services.sh (start slurm): job arrays, dependencies, requeue, a controller
restart, delete, a rerun after a kill, and the SSH login node. The tests fail (they are not
skipped) when the cluster is not recorded in services.json or does not answer.

They need root: the cluster's files, slurmctld's state and the controller restart.
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid as uuidlib

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs
from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers import slurm_job
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.slurm import SlurmDriver
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import NodeStates
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")
HINT = "start it with tests/tooling/services.sh start slurm (from the collection root, as root)"


@pytest.fixture(scope="module")
def cluster():
    """The "slurm" entry of services.json, its node checked to be up; fails otherwise."""
    try:
        with open(SERVICES_JSON) as handle:
            service = json.load(handle)["slurm"]
    except (OSError, ValueError, KeyError) as exc:
        pytest.fail("No SLURM test cluster recorded in %s (%s): %s" % (SERVICES_JSON, exc, HINT))
    try:
        states = slurm_command(["sinfo", "--noheader", "--format=%T"]).split()
    except AssertionError as exc:
        pytest.fail("The SLURM test cluster does not answer (%s): %s" % (exc, HINT))
    if not states or not states[0].startswith(("idle", "mixed", "alloc")):
        pytest.fail("The SLURM test cluster's node is %s: %s" % (states, HINT))
    return service


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


def slurm_site(cluster, tmp_path, name="hpc", **settings):
    return dict({"name": name, "type": "slurm", "workdir": str(tmp_path / "slurm"),
                 "python": cluster["python"], "partition": cluster["partition"]}, **settings)


def request(template, sites, **kwargs):
    kwargs.setdefault("name", "slurm-%s" % uuidlib.uuid4().hex[:10])
    return Request(template=template, sites=sites, timeout=300,
                   tosca_options=dict({"cache_dir": ""}, **kwargs.pop("tosca_options", {})),
                   **kwargs)


def slurm_command(argv):
    """A SLURM command's output, asked again while the controller restarts (ansible-test runs
    the restart test beside the others)."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return done.stdout
        if not slurm_job.TRANSIENT.search(done.stderr) or time.monotonic() > deadline:
            raise AssertionError("%s failed: %s" % (" ".join(argv), done.stderr))
        time.sleep(1)


def squeue(deployment_uuid):
    """[(job id, state, reason, node)] of every job of the deployment SLURM still knows."""
    listing = slurm_command(["squeue", "--noheader", "--array", "--states=all",
                             "--name=paas-" + deployment_uuid, "--format=%i|%T|%r|%k"])
    return [tuple(line.split("|", 3)) for line in listing.splitlines()]


def show_job(job_id):
    """``scontrol show job``'s fields of one job (or array task)."""
    return dict(re.findall(r"(\w+)=(\S*)", slurm_command(
        ["scontrol", "--oneliner", "show", "job", job_id])))


def records(directory, key):
    node, _sep, index = key.rpartition("#")
    path = os.path.join(directory, slurm_job.record_path(node, int(index)))
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def active(deployment_uuid):
    live = ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")
    return [job for job in squeue(deployment_uuid) if job[1] in live]


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.2)


def submit_only(engine, req):
    """One engine step: the jobs are submitted, nothing is waited for."""
    req.wait = False
    try:
        return engine.present(req)["deployment"]
    finally:
        req.wait = True


def attributes(deployment):
    return {row["idempotency_key"]: row["metadata"]["attributes"]
            for row in deployment["resources"]}


SWEEP = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    sweep:
      type: tosca.nodes.paas.Job
      properties:
        command: 'sleep 1; echo "$X $Y" > out.txt'
        mem_size: 64 MB
        timeout: 5 m
    summary:
      type: tosca.nodes.paas.Job
      properties:
        command: 'cat "$PAAS_DEPLOYMENT_DIR"/jobs/sweep/*/out.txt | sort > all.txt'
      requirements:
        - parent_job: sweep
  policies:
    - sweep:
        type: tosca.policies.paas.ParameterSweep
        targets: [sweep]
        properties:
          parameters: {X: [1, 2, 3], Y: {start: 1, stop: 2}}
          max_parallel: 2
  outputs:
    summary_dir: {value: {get_attribute: [summary, job_dir]}}
"""


def test_a_sweep_is_one_array_within_its_limit_and_its_child_waits_for_all_of_it(
        store, cluster, tmp_path):
    site = slurm_site(cluster, tmp_path)
    req = request(SWEEP, [site])
    engine = Engine(store)
    first = submit_only(engine, req)
    jobs = squeue(req.uuid)
    sweep = [job for job in jobs if job[3] == "sweep"]
    arrays = {job[0].partition("_")[0] for job in sweep}
    assert len(sweep) == 6 and len(arrays) == 1, jobs
    summary, = [job for job in jobs if job[3] == "summary"]
    assert summary[1] == "PENDING"
    fields = show_job(summary[0])
    assert fields["Dependency"].startswith("afterok:%s_*" % arrays.pop())
    assert fields["JobName"] == "paas-" + req.uuid and fields["Partition"] == cluster["partition"]
    task = show_job(sweep[0][0])
    assert task["MinMemoryNode"] == "64M" and task["TimeLimit"] == "00:06:00"
    assert task["Requeue"] == "1" and task["NumCPUs"] == "1"
    assert {row["physicalId"] for row in first["resources"]} == {job[0] for job in jobs}

    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    directory = os.path.join(site["workdir"], req.uuid)
    summary_dir = os.path.join(directory, "jobs", "summary", "0")
    assert deployment["outputs"] == {"summary_dir": summary_dir}
    with open(os.path.join(summary_dir, "all.txt")) as handle:
        expected = ["%d %d" % (x, y) for x in (1, 2, 3) for y in (1, 2)]
        assert handle.read().split("\n")[:-1] == expected
    seen = attributes(deployment)
    assert seen["sweep#4"] == {"job_dir": os.path.join(directory, "jobs", "sweep", "4"),
                               "attempts": 1, "exit_code": 0, "state": "succeeded",
                               "slurm_job_id": seen["sweep#4"]["slurm_job_id"]}
    # max_parallel: never more than 2 tasks at once; the summary after the last of them
    spans = []
    for index in range(6):
        events = records(directory, "sweep#%d" % index)
        spans.append((events[0]["t"], events[-1]["t"]))
    assert max(sum(1 for start, end in spans if start <= moment < end)
               for moment, _end in spans) <= 2
    assert records(directory, "summary#0")[0]["t"] >= max(end for _start, end in spans)
    engine.absent(req.uuid)


FLAKY = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    flaky:
      type: tosca.nodes.paas.Job
      properties:
        command: 'if [ ! -e tried ]; then touch tried; echo first >&2; exit 7; fi; echo ok'
        retries: 2
"""


def test_a_job_that_fails_once_is_requeued_and_succeeds(store, cluster, tmp_path):
    site = slurm_site(cluster, tmp_path)
    req = request(FLAKY, [site])
    started = time.monotonic()
    deployment = Engine(store).present(req)["deployment"]
    elapsed = time.monotonic() - started
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    seen = attributes(deployment)["flaky#0"]
    assert (seen["attempts"], seen["exit_code"], seen["state"]) == (2, 0, "succeeded")
    # the same SLURM job, requeued once; released from SLURM's 120 s hold after a requeue, but
    # not so soon that its new start meets the old run's revoked credential
    job = show_job(seen["slurm_job_id"])
    assert job["Restarts"] == "1"
    assert elapsed < 90, "the requeued job waited out its BeginTime (%.0f s)" % elapsed
    with open(os.path.join(cluster["log_dir"], "slurmctld.log")) as handle:
        assert "non-startable batch JobId=%s:" % job["JobId"] not in handle.read()
    events = [(event["event"], event.get("rc")) for event in
              records(os.path.join(site["workdir"], req.uuid), "flaky#0")]
    assert events == [("started", None), ("retry", 7), ("started", None), ("succeeded", 0)]
    job_dir = seen["job_dir"]
    with open(os.path.join(job_dir, "stdout")) as out, open(os.path.join(job_dir, "stderr")) as err:
        assert (out.read(), err.read()) == ("ok\n", "first\n")
    Engine(store).absent(req.uuid)


FAILING = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    bad:
      type: tosca.nodes.paas.Job
      properties:
        command: 'echo broken >&2; exit 3'
        retries: 1
    after:
      type: tosca.nodes.paas.Job
      properties:
        command: 'touch ran'
      requirements:
        - parent_job: bad
"""


def test_a_job_failing_for_good_fails_the_deployment_and_no_other_site_is_tried(
        store, cluster, tmp_path):
    local = {"name": "here", "type": "local", "workdir": str(tmp_path / "local")}
    req = request(FAILING, [slurm_site(cluster, tmp_path), local])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "job bad#0 failed: exit code 3 after 2 attempts" in deployment["statusReason"]
    assert [attempt["site"] for attempt in deployment["attempts"]] == ["hpc"]
    assert not os.path.exists(local["workdir"])
    # the dependent job can never run: SLURM cancels it, nothing of ours is left waiting
    wait_for(lambda: not active(req.uuid), 90, "the dependent job to be cancelled")
    after, = [job for job in squeue(req.uuid) if job[3] == "after"]
    assert after[1:3] == ("CANCELLED", "DependencyNeverSatisfied")
    assert not glob.glob(os.path.join(str(tmp_path), "slurm", req.uuid, "jobs", "after"))
    Engine(store).absent(req.uuid)


TWO_STAGES = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    work:
      type: tosca.nodes.paas.Job
      properties:
        command: 'sleep 4; echo "$I" > out.txt'
    total:
      type: tosca.nodes.paas.Job
      properties:
        command: 'cat "$PAAS_DEPLOYMENT_DIR"/jobs/work/*/out.txt | sort -n | tr "\\n" " " > all.txt'
      requirements:
        - parent_job: work
  policies:
    - sweep:
        type: tosca.policies.paas.ParameterSweep
        targets: [work]
        properties:
          parameters: {I: {start: 1, stop: 4}}
"""


def slurmctld_pid():
    try:
        with open("/run/slurmctld.pid") as handle:
            pid = int(handle.read())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return pid if b"slurmctld" in handle.read() else None
    except (OSError, ValueError):
        return None


def start_slurmctld():
    if slurmctld_pid() is None:
        subprocess.run(["/usr/sbin/slurmctld"], check=True)


def test_the_deployment_completes_across_a_slurmctld_restart(store, cluster, tmp_path):
    site = slurm_site(cluster, tmp_path)
    req = request(TWO_STAGES, [site])
    engine = Engine(store)
    submit_only(engine, req)
    wait_for(lambda: any(job[1] == "RUNNING" for job in squeue(req.uuid)), 30, "a running task")
    pid = slurmctld_pid()
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # slurmctld saves its state and stops
    restart = threading.Timer(4.0, start_slurmctld)
    try:
        wait_for(lambda: slurmctld_pid() is None, 30, "slurmctld to stop")
        # a controller that stays away longer than controller_wait is the site's failure
        impatient = SlurmDriver(dict(site, controller_wait=1))
        with pytest.raises(ProviderError, match="site 'hpc': squeue failed: .*Unable to contact"):
            impatient.poll(req.uuid, ["work#0"])
        restart.start()
        # the engine's first poll meets the controller down: the driver waits for it
        deployment = Engine(store).present(req)["deployment"]
    finally:
        restart.cancel()
        restart.join()
        start_slurmctld()
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    with open(os.path.join(attributes(deployment)["total#0"]["job_dir"], "all.txt")) as handle:
        assert handle.read() == "1 2 3 4 "
    assert [attempt["site"] for attempt in deployment["attempts"]] == ["hpc"]
    engine.absent(req.uuid)


SLEEPERS = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    marker: {type: string}
  node_templates:
    sleeper:
      type: tosca.nodes.paas.Job
      properties:
        command: {concat: ['sleep 300; : ', {get_input: marker}]}
    later:
      type: tosca.nodes.paas.Job
      properties:
        command: 'true'
      requirements:
        - parent_job: sleeper
  policies:
    - sweep:
        type: tosca.policies.paas.ParameterSweep
        targets: [sleeper]
        properties:
          parameters: {I: [1, 2, 3]}
"""


def marked_processes(marker):
    done = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return done.stdout.split()


def test_delete_cancels_every_job_of_the_deployment_and_only_those(store, cluster, tmp_path):
    site = slurm_site(cluster, tmp_path)
    marker = "paas-slurm-delete-%s" % uuidlib.uuid4().hex
    engine = Engine(store)
    doomed = request(SLEEPERS, [site], parameters={"marker": marker + "-a"})
    kept = request(SLEEPERS, [site], parameters={"marker": marker + "-b"})
    try:
        for req in (doomed, kept):
            submit_only(engine, req)
        wait_for(lambda: len(marked_processes(marker + "-a")) == 3, 60, "3 running sleepers")
        assert engine.absent(doomed.uuid) == {"changed": True, "deployment": None}
        assert not active(doomed.uuid)
        assert {job[1] for job in squeue(doomed.uuid)} == {"CANCELLED"}
        assert not os.path.exists(os.path.join(site["workdir"], doomed.uuid))
        wait_for(lambda: not marked_processes(marker + "-a"), 30, "the sleepers to end")
        assert len(active(kept.uuid)) == 4
    finally:
        engine.absent(kept.uuid)
    assert not active(kept.uuid)
    wait_for(lambda: not marked_processes(marker), 30, "every sleeper to end")


def test_a_rerun_after_a_kill_submits_nothing_twice(store, cluster, tmp_path):
    site = slurm_site(cluster, tmp_path)
    req = request(SWEEP, [site])
    engine = Engine(store)
    first = submit_only(engine, req)
    submitted = sorted(row["physicalId"] for row in first["resources"])
    # killed after sbatch answered, before the store recorded anything: rows still INITIAL
    with store.transaction():
        for row in store.list_resources(req.uuid):
            store.update_resource(row["uuid"], state=NodeStates.INITIAL, physicalId=None,
                                  site=None)
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    assert sorted(row["physicalId"] for row in deployment["resources"]) == submitted
    assert sorted(job[0] for job in squeue(req.uuid)) == submitted
    directory = os.path.join(site["workdir"], req.uuid)
    for row in deployment["resources"]:
        assert [event["event"] for event in records(directory, row["idempotency_key"])] == [
            "started", "succeeded"]
    engine.absent(req.uuid)


def test_a_rerun_after_a_kill_between_two_sbatch_submits_only_the_rest(cluster, tmp_path):
    """Killed after the sweep's sbatch, before the summary's: a new driver finds the sweep's
    array and submits the summary alone, waiting for that array."""
    topology = load(SWEEP, {}, cache_dir="")
    plan = planning.build(topology)
    deployment_uuid = str(uuidlib.uuid4())
    driver = SlurmDriver(slurm_site(cluster, tmp_path))
    items = [{"key": resource.key, "node": resource.node, "kind": resource.kind,
              "spec": driver.spec(plan, resource, deployment_uuid,
                                  jobs.job_spec(plan, resource)[0])}
             for resource in plan.resources]
    try:
        first = driver.submit(deployment_uuid, items[:6], {})
        rerun = SlurmDriver(slurm_site(cluster, tmp_path))
        physical = rerun.submit(deployment_uuid, items, {})
        assert {key: physical[key] for key in first} == first
        sweep_array = first["sweep#0"].partition("_")[0]
        assert show_job(physical["summary#0"])["Dependency"].startswith(
            "afterok:%s_*" % sweep_array)
        assert len(squeue(deployment_uuid)) == 7
        wait_for(lambda: rerun.poll(deployment_uuid, ["summary#0"])["summary#0"].state
                 == "STARTED", 60, "the summary")
    finally:
        wait_for(lambda: driver.delete(deployment_uuid), 30, "the delete")


TIMED = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    slow:
      type: tosca.nodes.paas.Job
      properties:
        command: 'sleep 60'
        timeout: 2 s
"""


def test_a_job_over_its_timeout_is_killed_and_fails(store, cluster, tmp_path):
    req = request(TIMED, [slurm_site(cluster, tmp_path)])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "job slow#0 failed: exit code -9 after 1 attempts" in deployment["statusReason"]
    assert show_job(attributes(deployment)["slow#0"]["slurm_job_id"])["TimeLimit"] == "00:02:00"
    Engine(store).absent(req.uuid)


STAGED = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    input_url: {type: string}
    output_url: {type: string}
    api_password: {type: string}
  node_templates:
    count:
      type: tosca.nodes.paas.Job
      properties:
        command: 'wc -l < data/words.txt > count.txt; id -un > user.txt'
        input_files: [{url: {get_input: input_url}, path: data/words.txt}]
        output_files: [{url: {get_input: output_url}, path: count.txt}]
        credentials:
          "http://127.0.0.1":
            username: paas
            password: {get_input: api_password}
"""


def test_over_ssh_the_staging_credentials_are_never_on_disk_in_clear(store, cluster, tmp_path,
                                                                     http_store):
    ssh = cluster["ssh"]
    workdir = "paas-tests/%s" % uuidlib.uuid4().hex[:12]
    site = {"name": "login", "type": "slurm", "workdir": workdir, "python": cluster["python"],
            "ssh": ssh}
    password = "pw-%s" % uuidlib.uuid4().hex
    http_store.require_basic("paas", password)
    (tmp_path / "served" / "words.txt").write_text("a\nb\nc\n")
    req = request(STAGED, [site], parameters={"input_url": http_store.url("words.txt"),
                                              "output_url": http_store.url("count.txt"),
                                              "api_password": password})
    home = os.path.expanduser("~" + ssh["user"])
    engine = Engine(store)
    try:
        deployment = engine.present(req)["deployment"]
        assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
        assert (tmp_path / "served" / "count.txt").read_text().strip() == "3"
        job_dir = attributes(deployment)["count#0"]["job_dir"]
        assert job_dir == os.path.join(home, workdir, req.uuid, "jobs", "count", "0")
        with open(os.path.join(job_dir, "user.txt")) as handle:
            assert handle.read().strip() == ssh["user"]  # submitted as the login node's user
        sealed = glob.glob(os.path.join(home, workdir, req.uuid, slurm_job.SECRETS, "*"))
        assert len(sealed) == 1 and os.stat(sealed[0]).st_mode & 0o077 == 0
        places = [os.path.join(home, workdir), str(tmp_path / "store.db"),
                  "/var/lib/slurm/slurmctld", "/var/lib/slurm/slurmd", cluster["log_dir"]]
        for place in places:
            found = subprocess.run(["grep", "-rl", "--", password, place], capture_output=True,
                                   text=True, check=False)
            assert found.stdout == "", "the password is in clear in %s" % found.stdout
        # slurmctld did save the job's environment there, with only the key to the sealed file
        saved = subprocess.run(["grep", "-rl", "--", slurm_job.SECRETS_ENV + "=" + os.path.basename(
            sealed[0]) + ":", "/var/lib/slurm/slurmctld"], capture_output=True, text=True,
            check=False)
        assert saved.stdout.strip().endswith("/environment")
    finally:
        engine.absent(req.uuid)
        subprocess.run(["rm", "-rf", "--", os.path.join(home, "paas-tests")], check=True)
    assert not active(req.uuid)


def test_an_unreachable_login_node_is_a_provider_error(cluster):
    with socketless_port() as port:
        site = {"name": "far", "type": "slurm",
                "ssh": dict(cluster["ssh"], port=port, host="127.0.0.1")}
        with pytest.raises(ProviderError, match="site 'far': cannot reach 127.0.0.1 over SSH: "
                                                ".*Connection refused"):
            SlurmDriver(site).poll(str(uuidlib.uuid4()), ["job#0"])


class socketless_port:
    """A local port nobody listens on, for as long as the block runs."""

    def __enter__(self):
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()


HUNGRY = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    big:
      type: tosca.nodes.paas.Job
      properties:
        command: 'echo done > out.txt'
        mem_size: 100 GB
"""


def test_what_the_cluster_cannot_give_is_a_provider_error_and_the_next_site_runs_it(
        store, cluster, tmp_path):
    local = {"name": "here", "type": "local", "workdir": str(tmp_path / "local")}
    req = request(HUNGRY, [slurm_site(cluster, tmp_path), local])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    assert deployment["cloudProviderName"] == "here"
    failed, = [attempt for attempt in deployment["attempts"] if attempt["site"] == "hpc"]
    assert failed["error"] == ("site 'hpc': sbatch failed: sbatch: error: Batch job submission "
                               "failed: Requested node configuration is not available")
    # SLURM keeps a record of the refused job (FAILED, BadConstraints); nothing runs
    assert not active(req.uuid)
    Engine(store).absent(req.uuid)


GPU_JOB = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    train:
      type: tosca.nodes.indigo.Container.Application.Docker.Chronos
      properties:
        command: echo trained > model.txt
      artifacts:
        image:
          file: indigodatacloud/trainer
          type: tosca.artifacts.Deployment.Image.Container.Docker
      requirements:
        - host: runtime
    runtime:
      type: tosca.nodes.indigo.Container.Runtime.Docker
      capabilities:
        host:
          properties: {num_cpus: 1.0, mem_size: 128 MB, num_gpus: 1}
"""


@pytest.mark.skipif(corpus.corpus_dir() is None,
                    reason="corpus absent: ../shared/corpus not found (INDIGO's types)")
def test_gpus_are_asked_as_gres_and_a_cluster_without_them_is_a_provider_error(
        store, cluster, tmp_path):
    mirror = corpus.mirror(corpus.corpus_dir())
    local = {"name": "here", "type": "local", "workdir": str(tmp_path / "local")}
    req = request(GPU_JOB, [slurm_site(cluster, tmp_path), local],
                  tosca_options={"mirror": mirror})
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    assert deployment["cloudProviderName"] == "here"
    assert deployment["attempts"][0]["error"] == (
        "site 'hpc': sbatch failed: sbatch: error: Invalid generic resource (gres) "
        "specification")
    Engine(store).absent(req.uuid)


@pytest.mark.parametrize("site, message", [
    ({"partition": 3}, "site 'x': partition has the wrong type"),
    ({"ssh": {"user": "u"}}, "site 'x': ssh needs a host"),
    ({"ssh": {"host": "h", "port": "22"}}, "site 'x': ssh.port has the wrong type"),
    ({"controller_wait": True}, "site 'x': controller_wait has the wrong type"),
])
def test_bad_site_settings_are_refused_before_anything_runs(site, message):
    with pytest.raises(SiteConfigError, match=re.escape(message)):
        SlurmDriver(dict({"name": "x", "type": "slurm"}, **site))


def test_sealed_credentials_open_only_with_their_key_and_unaltered():
    key = os.urandom(32)
    data = json.dumps({"s3://": {"secret_key": "s" * 70}}).encode()
    blob = slurm_job.seal(key, data)
    assert data not in blob and b"s" * 8 not in blob
    assert slurm_job.unseal(key, blob) == data
    assert slurm_job.seal(key, data) != blob  # a fresh nonce each time
    altered = bytearray(blob)
    altered[20] ^= 1
    for wrong_key, wrong_blob in ((os.urandom(32), blob), (key, bytes(altered)),
                                  (key, blob[:40])):
        with pytest.raises(ValueError):
            slurm_job.unseal(wrong_key, wrong_blob)
