#!/usr/bin/env bash
# The bundled sweep (playbooks/tosca/sweep_jobs.yaml: 20 simulations, one failing once, then a
# summary) through paas.orchestrator.deployment on the local site, on SLURM from this host and
# on SLURM through its SSH login node: the cluster of tests/tooling/services.sh start slurm, as
# services.json records it. The three give the same outputs, summary, per-job results and
# retries; then each deployment is deleted and SLURM runs nothing of them.
set -eux

# ansible-test runs this from a copy; the collection it tests is on ANSIBLE_COLLECTIONS_PATH
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
template=$collections/ansible_collections/paas/orchestrator/playbooks/tosca/sweep_jobs.yaml
base="${OUTPUT_DIR:?}/slurm"
rm -rf "$base"
mkdir -p "$base"
# The login node's user writes the summary too: a directory it can reach.
results=$(mktemp -d /tmp/paas-it-slurm-XXXXXX)
chmod 0777 "$results"
remote="paas-it/$(basename "$results")"
trap 'rm -rf "$results"' EXIT

python - "$base" "$results" "$remote" "$template" > "$base/vars.json" <<'EOP'
import json
import os
import sys

base, results, remote, template = sys.argv[1:]
path = os.path.expanduser("~/.paas-orchestrator-test/services.json")
try:
    with open(path) as handle:
        slurm = json.load(handle)["slurm"]
except (OSError, KeyError, ValueError) as exc:
    raise SystemExit("no SLURM test cluster in %s (%s): run tests/tooling/services.sh start slurm"
                     % (path, exc))
common = {"type": "slurm", "python": slurm["python"], "partition": slurm["partition"]}
json.dump({
    "store": base + "/store.db",
    "template": template,
    "results_url": "file://%s/summary.txt" % results,
    "sites": {
        "here": {"name": "here", "type": "local", "workdir": base + "/local"},
        "hpc": dict(common, name="hpc", workdir=base + "/slurm"),
        "login": dict(common, name="login", workdir=remote, ssh=slurm["ssh"]),
    },
    "login_home": os.path.expanduser("~" + slurm["ssh"]["user"]),
}, sys.stdout)
EOP

status=0
ansible-playbook -i "${INVENTORY_PATH:?}" compare.yml -e "@$base/vars.json" "$@" || status=$?
home=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["login_home"])' "$base/vars.json")
rm -rf "${home:?}/$remote"
rmdir "$home/paas-it" 2>/dev/null || true  # another run may still use it
exit $status
