#!/usr/bin/env bash
# shellcheck disable=SC2154  # work comes from ../setup_cluster/scenario.sh (sourced)
# A web service on a Marathon site played by the emulator (tests/emulators/marathon, a separate
# process), through paas.orchestrator.deployment (service.yml): deploy, a task killed and
# restarted by Marathon, scale 1 -> 3 -> 2, a rerun that changes nothing, delete; at the end
# Marathon holds no group or task of ours (and still holds the group that is not ours).
# setup_cluster's scenario.sh gives the work directory, cleanups and the TOSCA mirror.
source ../setup_cluster/scenario.sh

python -m ansible_collections.paas.orchestrator.tests.emulators.marathon --port 0 \
    --state-dir "$work/marathon" --start-seconds 0.5 --restart-seconds 5 \
    --knobs '{"username": "paas", "password": "marathon-secret"}' \
    > "$work/marathon.out" 2> "$work/marathon.err" &
on_exit kill $!
for _ in $(seq 100); do
    [ -s "$work/marathon.out" ] && break
    sleep 0.1
done
url=$(head -n1 "$work/marathon.out")
[ -n "$url" ] || { cat "$work/marathon.err" >&2; exit 1; }

ansible-playbook service.yml -e "marathon_url=$url" -e "work=$work" \
    -e "template=$PWD/files/service.yaml"
