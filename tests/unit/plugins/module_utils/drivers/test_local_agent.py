# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local site's agent, run as the driver runs it: a separate process on a directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import staging
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers import local_agent

AGENT = os.path.realpath(local_agent.__file__)


def spec(key, command, parents=(), retries=0, group=None, limit=None, timeout=None,
         inputs=(), outputs=()):
    return {"key": key, "node": key.split("#")[0], "index": int(key.split("#")[1]),
            "command": command, "env": {"NAME": key}, "inputs": list(inputs),
            "outputs": list(outputs), "retries": retries, "parents": list(parents),
            "group": group or key.split("#")[0], "group_limit": limit, "timeout": timeout}


@pytest.fixture
def deployment(tmp_path):
    directory = tmp_path / "dep"
    (directory / "specs").mkdir(parents=True)
    # the agent loads staging.py from beside itself, as the driver installs it
    program = tmp_path / "program"
    program.mkdir()
    shutil.copy(AGENT, program / "agent.py")
    shutil.copy(os.path.realpath(staging.__file__), program / "staging.py")
    return directory, str(program / "agent.py")


def write_specs(directory, specs, name="a.json"):
    (directory / "specs" / name).write_text(json.dumps(specs))


def run_agent(directory, program, slots=2, env=None, wait=True):
    process = subprocess.Popen([sys.executable, program, str(directory), str(slots)],
                               env=dict(os.environ, **(env or {})), start_new_session=True)
    if wait:
        assert process.wait(timeout=60) == 0
    return process


def alive(pid):
    """True while ``pid`` runs (a zombie waiting for its reaper does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(predicate, what, seconds=10):
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, "timed out waiting: %s" % what
        time.sleep(0.02)


def running_pid(directory, key):
    """The pid of ``key`` once the agent has started it."""
    wait_until(lambda: state(directory).get(key, {}).get("status") == "running",
               "%s to start" % key)
    return state(directory)[key]["pid"]


def journal(directory):
    with open(directory / "journal.jsonl") as handle:
        return [json.loads(line) for line in handle]


def state(directory):
    return local_agent.replay(str(directory / "journal.jsonl"))


def test_dependencies_retries_and_failure_cascade(deployment):
    directory, program = deployment
    write_specs(directory, [
        spec("a#0", "echo a > out"),
        spec("flaky#0", "test -e tried || { touch tried; exit 5; }", retries=1),
        spec("b#0", 'cat "$PAAS_DEPLOYMENT_DIR/jobs/a/0/out"', parents=["a#0", "flaky#0"]),
        spec("bad#0", "exit 7"),
        spec("child#0", "touch ran", parents=["bad#0"]),
        spec("grandchild#0", "touch ran", parents=["child#0"]),
    ])
    run_agent(directory, program)
    final = state(directory)
    assert final["a#0"]["status"] == final["b#0"]["status"] == "succeeded"
    assert final["flaky#0"] == dict(final["flaky#0"], status="succeeded", attempt=2)
    assert final["bad#0"]["status"] == "failed" and final["bad#0"]["rc"] == 7
    assert final["child#0"]["status"] == final["grandchild#0"]["status"] == "failed"
    assert not (directory / "jobs" / "child").exists()
    assert (directory / "jobs" / "b" / "0" / "stdout").read_text() == "a\n"


def test_slots_and_group_limits_hold(deployment):
    directory, program = deployment
    command = 'date +%s.%N >> "$PAAS_DEPLOYMENT_DIR/starts"; sleep 0.3; ' \
              'date +%s.%N >> "$PAAS_DEPLOYMENT_DIR/ends"'
    write_specs(directory, [spec("g#%d" % i, command, limit=2) for i in range(6)]
                + [spec("h#%d" % i, command) for i in range(2)])
    run_agent(directory, program, slots=3)
    events = [(json.loads(line)["t"], json.loads(line)) for line in
              open(directory / "journal.jsonl")]
    running, most, most_g = set(), 0, 0
    for _t, event in sorted(events, key=lambda item: item[0]):
        if event["event"] == "started":
            running.add(event["key"])
        elif event["event"] in ("succeeded", "failed"):
            running.discard(event["key"])
        most = max(most, len(running))
        most_g = max(most_g, len([k for k in running if k.startswith("g#")]))
    assert most <= 3 and most_g <= 2
    assert all(job["status"] == "succeeded" for job in state(directory).values())


def test_a_killed_agent_is_replaced_and_runs_no_succeeded_job_twice(deployment):
    directory, program = deployment
    write_specs(directory, [spec("j#%d" % i, "echo x >> count; sleep 0.2") for i in range(8)])
    process = run_agent(directory, program, slots=2, wait=False)
    wait_until(lambda: sum(job["status"] == "succeeded" for job in state(directory).values())
               >= 2, "two jobs to succeed", 20)
    os.killpg(process.pid, signal.SIGKILL)  # the agent and the jobs it was running
    process.wait()
    succeeded_before = {k for k, job in state(directory).items() if job["status"] == "succeeded"}
    seen = len(journal(directory))
    assert 2 <= len(succeeded_before) < 8
    run_agent(directory, program, slots=2)
    final = state(directory)
    assert all(job["status"] == "succeeded" for job in final.values()) and len(final) == 8
    started_again = {e["key"] for e in journal(directory)[seen:] if e["event"] == "started"}
    assert not succeeded_before & started_again
    for key in succeeded_before:
        index = key.split("#")[1]
        assert (directory / "jobs" / "j" / index / "count").read_text() == "x\n", key


def test_a_job_over_its_timeout_is_killed(deployment):
    directory, program = deployment
    write_specs(directory, [spec("slow#0", "sleep 30", timeout=0.5)])
    start = time.time()
    run_agent(directory, program)
    assert time.time() - start < 10
    job = state(directory)["slow#0"]
    assert job["status"] == "failed" and job["rc"] == -9


def test_cancel_kills_running_jobs(deployment):
    directory, program = deployment
    write_specs(directory, [spec("long#0", "sleep 60")])
    process = run_agent(directory, program, wait=False)
    pid = running_pid(directory, "long#0")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    wait_until(lambda: not alive(pid), "the job to end with its agent", 5)


def test_staging_wrapper_moves_files_and_keeps_credentials_out_of_the_job(deployment, tmp_path):
    directory, program = deployment
    source = tmp_path / "input.txt"
    source.write_text("data\n")
    target = tmp_path / "results" / "output.txt"
    write_specs(directory, [spec(
        "s#0", 'tr a-z A-Z < in/input.txt > output.txt; env > env.txt',
        inputs=[{"url": "file://%s" % source, "path": "in/input.txt"}],
        outputs=[{"url": "file://%s" % target, "path": "output.txt"}])])
    secrets = json.dumps({"s3://nowhere/": {"secret_key": "not-for-the-job"}})
    run_agent(directory, program, env={local_agent.SECRETS_ENV: secrets})
    assert state(directory)["s#0"]["status"] == "succeeded"
    assert target.read_text() == "DATA\n"
    assert "not-for-the-job" not in (directory / "jobs" / "s" / "0" / "env.txt").read_text()


def test_failed_staging_fails_the_job(deployment, tmp_path):
    directory, program = deployment
    write_specs(directory, [spec("s#0", "true", inputs=[
        {"url": "file://%s" % (tmp_path / "missing"), "path": "x"}])])
    run_agent(directory, program)
    job = state(directory)["s#0"]
    assert job["status"] == "failed" and job["rc"] == 3
    assert "staging in failed" in (directory / "jobs" / "s" / "0" / "stderr").read_text()


def test_a_stale_pid_in_the_journal_is_not_killed(deployment):
    """After a reboot or pid reuse, the pid of a job that was running belongs to someone else."""
    directory, program = deployment
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        write_specs(directory, [spec("j#0", "true")])
        (directory / "journal.jsonl").write_text(json.dumps({
            "key": "j#0", "event": "started", "attempt": 1, "pid": bystander.pid,
            "start": "1", "t": 0}) + "\n")
        run_agent(directory, program)
        assert bystander.poll() is None, "an unrelated process was killed"
        assert state(directory)["j#0"]["status"] == "succeeded"
    finally:
        bystander.kill()
        bystander.wait()


def test_an_orphaned_job_of_a_killed_agent_is_ended(deployment):
    directory, program = deployment
    write_specs(directory, [spec("j#0", "sleep 30")])
    process = run_agent(directory, program, wait=False)
    job_pid = running_pid(directory, "j#0")
    process.kill()  # the agent only: its job, in a session of its own, goes on
    process.wait()
    assert alive(job_pid)
    write_specs(directory, [spec("k#0", "true")], name="b.json")
    replacement = run_agent(directory, program, wait=False)
    wait_until(lambda: not alive(job_pid), "the orphaned job to be ended", 5)
    os.killpg(replacement.pid, signal.SIGKILL)
    replacement.wait()
