# Developer and CI entry points; see docs/development.md.
# Every target runs `setup` first (a no-op when .venv is current).
# Extra ansible-test arguments: make units ARGS=tests/unit/plugins/modules/test_foo.py

SHELL := /bin/bash
ANSIBLE_TEST := tests/tooling/ansible-test.sh
PY := 3.11
ARGS ?=

# `test` lists its steps as prerequisites; keep them in order even under make -j.
.NOTPARALLEL:
.PHONY: help setup sanity units integration test demo bench

help:
	@echo "targets: setup sanity units integration test demo bench  (ARGS=... is passed to ansible-test)"

setup:
	@tests/tooling/setup.sh

sanity: setup
	$(ANSIBLE_TEST) sanity --python $(PY) --color no $(ARGS)

# ansible-test exits 1 ("Cannot run unit tests without tests/unit/") when the directory
# holds no files yet; treat that as "nothing to run" instead of a failure.
# --requirements installs ansible-test's unit deps (mock, ...) into .venv, which already
# has requirements.txt, so tests can import tosca-parser & co.
units: setup
	@if [ -z "$$(find tests/unit -type f -name '*.py' 2>/dev/null | head -n1)" ]; then \
		echo "units: no Python files under tests/unit/ yet, nothing to run"; \
	else \
		set -x; $(ANSIBLE_TEST) units --python $(PY) --color no --requirements $(ARGS); \
	fi

# Runs locally against the controller (no Docker engine here); same "no targets" rule as units.
integration: setup
	@if [ -z "$$(find tests/integration/targets -type f 2>/dev/null | head -n1)" ]; then \
		echo "integration: no targets under tests/integration/targets/ yet, nothing to run"; \
	else \
		set -x; $(ANSIBLE_TEST) integration --python $(PY) --color no --requirements $(ARGS); \
	fi

test: setup sanity units integration

demo: setup
	@test -f playbooks/demo.yml || { echo "demo: playbooks/demo.yml does not exist yet" >&2; exit 1; }
	tests/tooling/sync.sh >/dev/null
	PATH="$(CURDIR)/.venv/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build" \
		.venv/bin/ansible-playbook playbooks/demo.yml $(ARGS)

# Benchmarks import the collection as ansible_collections.paas.orchestrator... from build/.
bench: setup
	@tests/tooling/sync.sh >/dev/null; \
	for f in tests/bench/*.py; do \
		[ -e "$$f" ] || { echo "bench: no tests/bench/*.py yet"; break; }; \
		echo "== $$f"; \
		PYTHONPATH="$(CURDIR)/build" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build" .venv/bin/python "$$f" || exit 1; \
	done
