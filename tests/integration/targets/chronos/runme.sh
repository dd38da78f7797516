#!/usr/bin/env bash
# A two-stage Chronos job workflow (files/workflow.yaml: stage 1 fails once and is retried, stage
# 2 doubles what stage 1 wrote) on a Chronos site played by the emulator (tests/emulators/chronos,
# a separate process that runs the jobs' commands), through paas.orchestrator.deployment: the
# results and outputs are checked, a rerun changes nothing, delete leaves no job of ours.
# setup_cluster's scenario.sh gives the work directory, cleanups, the TOSCA mirror and `serve`.
# shellcheck disable=SC2154  # work and url come from scenario.sh (sourced, not followed)
source ../setup_cluster/scenario.sh

serve chronos python -m ansible_collections.paas.orchestrator.tests.emulators.chronos \
    --port 0 --state-dir "$work/chronos" --credentials paas:chronos-secret

ansible-playbook workflow.yml -e "chronos_url=$url" -e "work=$work" \
    -e "template=$PWD/files/workflow.yaml"
