# iapt-idb — the two commands that matter:
#   make demo   set everything up, then synthetic warehouse -> dbt build -> validate -> IDB (.accdb) -> docs site
#   make test   set everything up, then run every test
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON  ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
CLI     := $(BIN)/iapt-idb
UV_VERSION := 0.13.8
PERIOD  ?= 2026-10
PATIENTS ?= 2000
SEED    ?= 42
DEFECT_RATE ?= 0.01
# the synthetic warehouse's made-up provider ODS code (a real provider's build has no default)
PROVIDER_ODS ?= RZZ
# the synthetic source system: empty = lumen_cms; SYSTEM=meridian_epr runs the demo on the second system
# (its own warehouse, target DB and output/meridian_epr/<period>, so both can sit side by side)
SYSTEM  ?=
OUT     := output/$(if $(SYSTEM),$(SYSTEM)/)$(PERIOD)
SYSTEM_ARGS := $(if $(SYSTEM),--system $(SYSTEM) --warehouse data/$(SYSTEM)_warehouse.duckdb --target-db data/iapt_idb_$(SYSTEM).duckdb)
export IAPT_IDB_PROJECT_DIR := $(CURDIR)
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: help setup system-deps jars demo test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system-deps: .make/system-deps ## Debian packages: Java 17 (JDK), Maven, mdbtools, Chromium, PostgreSQL (apt-packages.txt)
.make/system-deps: apt-packages.txt
	@mkdir -p .make
	@missing=$$(grep -v '^#' apt-packages.txt | xargs -n1 | while read p; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	@touch $@

setup: $(BIN)/.installed ## Python virtualenv with the pinned tool chain and the iapt-idb CLI
# The pinned packages are installed by uv (the same versions and, as pip writes it, their bytecode; a fraction
# of pip's time: docs/decisions.md, "Tool chain"), from the package sources pip is set up with
# (scripts/uv_install.py: a mirror, local wheels, a certificate); should uv not install or fail (a platform
# without its wheel, a source uv cannot read), pip installs them instead.
# compileall: the project's own bytecode, as the installer writes it for the packages (an editable install has
# none, and with PYTHONDONTWRITEBYTECODE set every iapt-idb process compiled its modules again); Python ignores
# a file's bytecode once the file changes
$(BIN)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade "pip==25.3"
	@if $(BIN)/pip install -q "uv==$(UV_VERSION)" && \
	  $(BIN)/python scripts/uv_install.py -q -c requirements.lock -e .; then :; else \
	  echo "setup: uv could not install the packages (above); installing them with pip instead" >&2; \
	  $(BIN)/pip install -q -c requirements.lock -e .; fi
	@$(BIN)/pip check
	@$(BIN)/python -m compileall -q scripts >/dev/null
	@touch $@

jars: .jars/.verified ## Jackcess (writer) and the national reader replica (UCanAccess 4.0.4) from Maven Central, checksummed; the writer helper built from java/writer-helper
HELPER_SOURCES := java/writer-helper/pom.xml $(shell find java/writer-helper/src -type f 2>/dev/null)
# the folders too: a source file removed (a branch switched) leaves no file newer than the stamp, but its folder is
HELPER_DIRS := $(shell find java/writer-helper/src -type d 2>/dev/null)
.jars/.verified: java/writer/pom.xml java/replica/pom.xml java/jars.sha256 java/fetch-jars.sh $(HELPER_SOURCES) $(HELPER_DIRS) .jars/writer-helper/BUILD.sha256 | .make/system-deps
	@bash java/fetch-jars.sh
	@touch $@
.jars/writer-helper/BUILD.sha256: ; # written by java/fetch-jars.sh; when it is missing, the rule above runs again

demo: setup jars ## synthetic warehouse -> marts -> validation -> IDB -> docs site, for PERIOD (SYSTEM=meridian_epr: the second system)
	$(CLI) demo --period $(PERIOD) --patients $(PATIENTS) --seed $(SEED) --defect-rate $(DEFECT_RATE) --provider-ods $(PROVIDER_ODS) --out $(OUT) $(SYSTEM_ARGS)

test: setup jars .make/system-deps ## every test: pytest (unit, dbt build + unit tests, round trips, browser), sqlfluff
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=20

lint: setup ## sqlfluff lint of the dbt models
	$(BIN)/sqlfluff lint models source_systems tests/dbt analyses --processes 2

bench: setup jars ## national-scale benchmark (prints a table, writes bench/results.json); PG=1 adds the month on a throwaway PostgreSQL
	$(BIN)/python -m iapt_idb.bench $(if $(PG),--postgres --start-server)

clean: ## remove build outputs (keeps the virtualenv and jars)
	rm -rf target logs data output bench gx
