# The README's commands. Each target sets up what it needs on a fresh machine:
# a virtualenv in .venv with the library and its dev tools, and the pinned CDK CLI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
CDK := npx --no-install cdk
NODE_STAMP := node_modules/.package-lock.json

# jsii prints a Node end-of-life banner on Node 20; this only silences that banner.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The CDK CLI runs `python3 app.py`: make that the virtualenv's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup synth test lint deploy diff bench clean

setup: $(VENV_STAMP) $(NODE_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e '.[dev,testing]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

synth: setup
	$(CDK) synth --quiet --output cdk.out

test: $(VENV_STAMP)
	$(VENV_PY) -m pytest

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

deploy: setup
	$(CDK) deploy --all --output cdk.out

diff: setup
	$(CDK) diff --all --output cdk.out

bench: setup
	$(VENV_PY) benchmarks/run.py

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
