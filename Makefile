# The README's commands. Each target sets up what it needs on a fresh machine:
# a virtualenv in .venv with the library and its dev tools, and the pinned CDK CLI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
# The docs extra (MkDocs, mkdocstrings, Selenium), installed by `make docs` and `make lint`.
DOCS_STAMP := $(VENV)/.docs-installed
CDK := npx --no-install cdk
NODE_STAMP := node_modules/.package-lock.json

# jsii prints a Node end-of-life banner on Node 20; this only silences that banner.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# MkDocs Material prints a banner about its successor on every build.
export NO_MKDOCS_2_WARNING := 1
# The CDK CLI runs `python3 app.py`: make that the virtualenv's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# The DAG test environment: the example environment's Airflow version on this machine's
# Python, resolved with the constraints file vendored in tests_dags/ (Airflow's official one
# is on raw.githubusercontent.com, which CI machines may not reach).
DAGS_VENV := .venv-dags
# MWAA 2.10.3 runs Python 3.11: use python3.11 when the machine has it, whatever PYTHON is.
DAGS_PYTHON ?= $(shell command -v python3.11 || echo $(PYTHON))
DAGS_STAMP := $(DAGS_VENV)/.installed
DAGS_REQUIREMENTS := tests_dags/requirements.txt
DAGS_CONSTRAINTS := tests_dags/constraints-2.10.3-py3.11.txt

.PHONY: setup synth test test-dags dags-constraints lint deploy diff bench demo diagrams docs docs-serve docs-check clean

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

# node_modules too: the diagram tests render through Graphviz (WebAssembly) and resvg from npm.
# One pytest-xdist worker per core (PYTEST_WORKERS=0 runs serially); the example app's
# compliance gate runs once per session whatever the workers, in the background, and the
# tests that read the in-process example app share one worker, so it is built once
# (tests/conftest.py, tests/scheduling.py).
PYTEST_WORKERS ?= auto
test: $(VENV_STAMP) $(NODE_STAMP)
	$(VENV_PY) -m pytest -n $(PYTEST_WORKERS)

$(DAGS_STAMP): $(DAGS_REQUIREMENTS) $(DAGS_CONSTRAINTS)
	@$(DAGS_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "the DAG tests need Python 3.11, the Python of MWAA 2.10.3 (found " + sys.version.split()[0] + "); set DAGS_PYTHON=python3.11")'
	$(DAGS_PYTHON) -m venv $(DAGS_VENV)
	$(DAGS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DAGS_VENV)/bin/python -m pip install --quiet -r $(DAGS_REQUIREMENTS) -c $(DAGS_CONSTRAINTS)
	@touch $@

# Every DAG loaded by Airflow's DagBag (no database, no AWS): import errors, cycles, the tasks
# and dependencies each DAG must have.
test-dags: $(DAGS_STAMP)
	AIRFLOW_HOME=$(CURDIR)/$(DAGS_VENV)/airflow-home AIRFLOW__CORE__LOAD_EXAMPLES=False \
		$(DAGS_VENV)/bin/python -m pytest -p no:cacheprovider -p no:analytics_orchestration -q tests_dags

# Regenerate the vendored constraints from a fresh resolution of tests_dags/requirements.txt.
dags-constraints:
	rm -rf $(DAGS_VENV)-resolve && $(PYTHON) -m venv $(DAGS_VENV)-resolve
	$(DAGS_VENV)-resolve/bin/python -m pip install --quiet -r $(DAGS_REQUIREMENTS)
	{ sed -n '1,4p' $(DAGS_CONSTRAINTS); $(DAGS_VENV)-resolve/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)=='; } > $(DAGS_CONSTRAINTS).new
	mv $(DAGS_CONSTRAINTS).new $(DAGS_CONSTRAINTS) && rm -rf $(DAGS_VENV)-resolve

# The docs tools (tools/docs) are type-checked against the docs extra's own packages.
lint: $(VENV_STAMP) $(DOCS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

deploy: setup
	$(CDK) deploy --all --output cdk.out

diff: setup
	$(CDK) diff --all --output cdk.out

# QUICK=1: 2 synth runs instead of 5, hand-written x5 instead of x20, no test-suite runs.
bench: setup
	$(VENV_PY) benchmarks/run.py $(if $(QUICK),--quick)

# The example ingestion and job-queue stacks run offline on sample data (a good and a bad
# extract, a poison message, a failing job); writes and prints demo/run.html.
demo: setup
	$(VENV_PY) demo/run.py --out demo/run.html

# Architecture and workflow diagrams of every example stack (SVG and PNG) in diagrams/.
diagrams: synth
	$(VENV_PY) -m analytics_orchestration.diagrams cdk.out --out diagrams --format svg --format png

# The documentation site, built into build/site from docs/ and mkdocs.yml. Its generated
# parts (docs/generated/: the diagrams of the example app, the defaults, extension points
# and events read from the code) come from a synthesis of the example app of its own in
# build/docs/cdk.out, redone only when the app's sources changed.
DOCS_CDK_OUT := build/docs/cdk.out
DOCS_SOURCES := app.py cdk.json $(shell find analytics_orchestration stacks -type f -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
DOCS_PORT ?= 8000

$(DOCS_STAMP): $(VENV_STAMP)
	$(VENV_PY) -m pip install --quiet -e '.[docs]'
	@touch $@

$(DOCS_CDK_OUT)/manifest.json: $(VENV_STAMP) $(NODE_STAMP) $(DOCS_SOURCES)
	rm -rf $(DOCS_CDK_OUT)
	$(CDK) synth --quiet --output $(DOCS_CDK_OUT)

docs: $(DOCS_STAMP) $(DOCS_CDK_OUT)/manifest.json
	$(VENV_PY) -m tools.docs.generate --cdk-out $(DOCS_CDK_OUT)
	$(VENV)/bin/mkdocs build --strict

# Search runs in a web worker, which browsers refuse on file:// pages: browse over HTTP.
docs-serve: docs
	@echo "http://localhost:$(DOCS_PORT)/"
	$(VENV_PY) -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory build/site

# Every page of the built site in Debian's headless Chromium (installed here when missing:
# CI runs on a fresh machine): no console error, every diagram displayed, navigation and
# search working; and the run report of `make demo` (no console error, its diagrams shown,
# the path the run took marked).
docs-check: docs demo
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	$(VENV_PY) -m tools.docs.check_site build/site --report demo/run.html

clean:
	rm -rf $(VENV) $(DAGS_VENV) node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache demo/*.html demo/*.log diagrams
