# Developer and CI entry points; see docs/development.md.
# Every target runs `setup` first (a no-op when .venv is current).
# Extra ansible-test arguments: make units ARGS=tests/unit/plugins/modules/test_foo.py

SHELL := /bin/bash
ANSIBLE_TEST := tests/tooling/ansible-test.sh
PY := 3.11
ARGS ?=

# `test` lists its steps as prerequisites; keep them in order even under make -j.
.NOTPARALLEL:
.PHONY: help setup services sanity units integration test demo bench

help:
	@echo "targets: setup services sanity units integration test demo bench  (ARGS=... is passed to ansible-test)"

setup:
	@tests/tooling/setup.sh

sanity: setup
	$(ANSIBLE_TEST) sanity --python $(PY) --color no $(ARGS)

# Real backends the tests use (PostgreSQL, Swift with its S3 API): installed and started if
# they are not running, and recorded in ~/.paas-orchestrator-test/services.json for the tests
# (ansible-test passes no environment variables through).
services:
	@tests/tooling/services.sh start all

# --requirements installs ansible-test's unit deps (mock, ...) into .venv, which already
# has requirements.txt, so tests can import tosca-parser & co.
units: setup services
	$(ANSIBLE_TEST) units --python $(PY) --color no --requirements $(ARGS)

# Runs locally against the controller (no Docker engine here).
integration: setup services
	$(ANSIBLE_TEST) integration --python $(PY) --color no --requirements $(ARGS)

test: setup sanity units integration

demo: setup
	@test -f playbooks/demo.yml || { echo "demo: playbooks/demo.yml does not exist yet" >&2; exit 1; }
	tests/tooling/sync.sh >/dev/null
	PATH="$(CURDIR)/.venv/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build" \
		.venv/bin/ansible-playbook playbooks/demo.yml $(ARGS)

# Benchmarks import the collection as ansible_collections.paas.orchestrator... from build/;
# tests/bench/_*.py are their shared helpers, not benchmarks.
bench: setup
	@tests/tooling/sync.sh >/dev/null; \
	for f in tests/bench/[!_]*.py; do \
		[ -e "$$f" ] || { echo "bench: no tests/bench/*.py yet"; break; }; \
		echo "== $$f"; \
		PYTHONPATH="$(CURDIR)/build" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build" .venv/bin/python "$$f" || exit 1; \
	done
