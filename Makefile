# Two commands matter: `make demo` and `make test`. Logic lives in .ci/ scripts, not here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY_SOURCES := services tests bench sdk/python/src sdk/python/examples
TS_SDK := sdk/typescript
TS_STAMP := $(TS_SDK)/node_modules/.installed
TS_WORKER := workers/typescript-model
TS_WORKER_STAMP := $(TS_WORKER)/node_modules/.installed

.PHONY: demo test test-deep test-distributed lint proto services venv typescript typescript-worker

venv: $(STAMP)

# Re-install whenever pyproject.toml changes (new dependency, new entry point). The ml extra
# pins torch==2.13.0, which pip takes from this machine's CPU wheel (find-links /opt/wheels)
# rather than PyPI's multi-GB CUDA build.
$(STAMP): pyproject.toml sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ./sdk/python -e '.[dev,ml]'
	touch $(STAMP)

# npm ci empties node_modules and installs exactly package-lock.json: only when the lockfile
# changed (or nothing is installed). protoc-gen-es, which `make proto` runs, comes with it.
$(TS_STAMP): $(TS_SDK)/package-lock.json
	cd $(TS_SDK) && npm ci --no-audit --no-fund
	touch $(TS_STAMP)

# The TypeScript SDK compiled with tsc and its stackless tests (waitForRun's reconnects);
# tests/e2e/test_sdk_typescript.py runs the rest against a live stack.
typescript: $(TS_STAMP)
	cd $(TS_SDK) && npm run --silent test:unit

$(TS_WORKER_STAMP): $(TS_WORKER)/package-lock.json
	cd $(TS_WORKER) && npm ci --no-audit --no-fund
	touch $(TS_WORKER_STAMP)

# The TypeScript model worker compiled with tsc, and its node tests (codec vectors, payloads);
# tests/integration/test_typescript_worker.py runs it beside the Python stack.
typescript-worker: $(TS_WORKER_STAMP)
	cd $(TS_WORKER) && npm run --silent build && npm test --silent

demo: $(STAMP)
	$(BIN)/veilsync demo

services:
	.ci/services.sh

lint: $(STAMP)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy services sdk/python/src bench

test: $(STAMP) services lint typescript typescript-worker
	$(BIN)/python -m pytest -q

# The property tests (tests/property) with many more generated cases: VEILSYNC_DEEP=1 raises
# their hypothesis example counts, which `make test` keeps small.
test-deep: $(STAMP) services
	VEILSYNC_DEEP=1 $(BIN)/python -m pytest -q tests/property

# Several hosts on this machine (tests/distributed): network namespaces for PostgreSQL,
# Temporal, the API and the workers; a worker's host is cut off and another killed mid-run.
# Needs root and iproute2; -s shows the run's timings.
test-distributed: $(STAMP)
	$(BIN)/python -m pytest -q -s tests/distributed

# buf runs proto/protoc.sh and the protoc-gen-mypy plugins by name: the venv's come first.
proto: $(STAMP) $(TS_STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/buf generate
