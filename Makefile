# Every target bootstraps what it needs: the venv and its dependencies, Maven artifacts, the stack.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIPELINE := $(BIN)/pipeline
N ?= 10000

.PHONY: help venv stack-up stack-down stack-status run-pipeline test unit integration lint typecheck clean
.PHONY: validate-schemas register-schemas bootstrap generate check-generated check-compat
.PHONY: fault-test fault-test-quick

help:
	@echo "make run-pipeline   run the main job on the embedded stack (or the cluster in the environment)"
	@echo "make test           lint, type-check, unit and integration tests on the real stack"
	@echo "make fault-test     fault injection, full run (several minutes); fault-test-quick: CI's subset"
	@echo "make validate-schemas / register-schemas / bootstrap   check, register, and also create topics"
	@echo "make check-compat   the compatibility gate: each schema against its git history (no registry)"
	@echo "make stack-up / stack-down / stack-status"

$(BIN)/.installed: pyproject.toml setup.py pipeline/codec/_native.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

stack-up: venv
	$(PIPELINE) stack up

stack-down: venv
	$(PIPELINE) stack down

stack-status: venv
	$(PIPELINE) stack status

validate-schemas: venv
	$(PIPELINE) schemas validate

check-compat: venv
	$(PIPELINE) schemas check

register-schemas: venv
	$(PIPELINE) schemas register

bootstrap: venv
	$(PIPELINE) bootstrap

generate: venv
	$(PIPELINE) generate

check-generated: venv
	$(PIPELINE) generate --check

run-pipeline: venv
	$(PIPELINE) run --count $(N)

# Every catalog topic's schema, then the orders-to-activity workers scaled out (`pipeline bench --help`).
# N and R as for run-pipeline (`make bench N=100000 R=5`); N's default here is 500000, not 10000.
BENCH_N = $(if $(filter file,$(origin N)),500000,$(N))
R ?= 3
.PHONY: bench
bench: venv
	$(PIPELINE) bench --count $(BENCH_N) --repeat $(R) --json bench-results.json

lint: venv
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit -q

integration: venv
	$(BIN)/pytest tests/integration -q -m integration

test: lint typecheck check-generated
	$(BIN)/pytest -q

# Fault injection (tests/faults) on a private stack: free ports, a temporary state directory; the shared
# stack is never touched. The full run is 100 000 messages, 20 kills and a 30 s registry outage; the quick
# subset (run by .ci/run) uses the same code with small sizes. Both print the results table at the end.
FAULT_RESULTS ?= build/fault-results.jsonl

fault-test fault-test-quick: venv
	rm -f $(FAULT_RESULTS)
	FAULT_PROFILE=$(if $(filter fault-test,$@),full,quick) FAULT_RESULTS=$(FAULT_RESULTS) \
		$(BIN)/pytest tests/faults -m fault -q; status=$$?; \
		$(BIN)/python -m tests.faults.report $(FAULT_RESULTS); exit $$status

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
