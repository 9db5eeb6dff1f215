# Two commands matter: `make demo` and `make test`. Logic lives in .ci/ scripts, not here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-deep lint proto services venv

venv: $(STAMP)

# Re-install whenever pyproject.toml changes (new dependency, new entry point). The ml extra
# pins torch==2.13.0, which pip takes from this machine's CPU wheel (find-links /opt/wheels)
# rather than PyPI's multi-GB CUDA build.
$(STAMP): pyproject.toml sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ./sdk/python -e '.[dev,ml]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/veilsync demo

services:
	.ci/services.sh

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests
	$(BIN)/mypy services

test: $(STAMP) services lint
	$(BIN)/python -m pytest -q

# The property tests (tests/property) with many more generated cases: VEILSYNC_DEEP=1 raises
# their hypothesis example counts, which `make test` keeps small.
test-deep: $(STAMP) services
	VEILSYNC_DEEP=1 $(BIN)/python -m pytest -q tests/property

# buf runs proto/protoc.sh and the protoc-gen-mypy plugins by name: the venv's come first.
proto: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/buf generate
