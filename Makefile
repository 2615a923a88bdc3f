# Developer tasks for the SNS access portal.
#
#   make install   venv + node + assets (each step only does work when its inputs changed)
#   make run       install, then scripts/run_dev.sh (web + celery worker + celery beat)
#   make test      install, service check, ruff, then security-scan beside pytest in parallel   (make test PYTEST_ARGS="-k foo")
#   make security-scan   bandit over the project's code, pip-audit over requirements.txt
#   make lint      ruff check + ruff format --check
#   make format    ruff format + ruff check --fix
#   make bench     install, then scripts/bench.sh (the department-scale benchmark)
#   make import-staff CSV=staff.csv [ARGS="--full --dry-run"]   import a staff directory into make run's database

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON3 ?= python3
# The virtualenv's interpreter: Debian's own CPython 3.11 where the machine has it with the
# modules the portal needs (built with profile-guided and link-time optimisation, it runs the
# suite's Python about a tenth faster than a default source build such as pyenv's python3:
# docs/testing.md), else PYTHON3.
SYSTEM_PYTHON := /usr/bin/python3.11
ifeq ($(origin VENV_PYTHON),undefined)
VENV_PYTHON := $(shell $(SYSTEM_PYTHON) -c "import venv, ssl, sqlite3, zoneinfo" >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo $(PYTHON3))
endif
VENV    := .venv
VPY     := $(VENV)/bin/python
RUFF    := $(VENV)/bin/ruff
PYTEST  := $(VENV)/bin/pytest

PYTEST_ARGS ?=
# The suite runs in parallel (pytest-xdist): 3 workers, each with its own PostgreSQL database
# (test_<name>_gw0…) and Redis database (the base one + the worker's number); `loadgroup`
# deals the tests out one by one in collection order, which conftest.py sorts longest first,
# and a costly session fixture's tests to one worker (tests/scheduling.py), so the workers
# end together. docs/testing.md says why 3.
# `make test PYTEST_PARALLEL=` runs in one process.
PYTEST_PARALLEL ?= -n 3 --dist loadgroup

# Test defaults; a value from the caller's environment or the make command line wins.
# Target-specific, so `make run` keeps the settings' own defaults.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sns_portal
test: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
# Bytecode cached (a machine may set PYTHONDONTWRITEBYTECODE): every xdist worker and every
# process a test starts (Celery workers, manage.py) would otherwise compile the project again,
# and pytest rewrite every test module's assertions again (about 5 s of CPU a worker).
test: export PYTHONDONTWRITEBYTECODE =

.PHONY: help install venv node assets run test lint format bench security-scan import-staff

help:
	@echo "Targets: install venv node assets run test lint format bench security-scan import-staff"
	@echo "  make test PYTEST_ARGS='-k foo'   pass arguments to pytest"

# The virtualenv and node_modules are independent: made side by side (each one's output kept
# together), then the assets from node_modules.
install:
	@$(MAKE) --no-print-directory --jobs=2 --output-sync=target venv node
	@$(MAKE) --no-print-directory assets

# --- Python -----------------------------------------------------------------------------

venv: $(VENV)/.installed

# Without pip: the venv's pip (requirements.txt pins it) comes from uv with the rest, not from
# ensurepip (3 s of a fresh clone's install).
# A virtualenv made from another interpreter (VENV_PYTHON changed) is made again.
$(VPY): $(VENV)/.python
	$(VENV_PYTHON) -m venv --without-pip $(VENV)

$(VENV)/.python: FORCE
	@want="$$(readlink -f "$$(command -v $(VENV_PYTHON))")"; \
	if [ -f $@ ] && [ "$$(cat $@)" = "$$want" ]; then exit 0; fi; \
	if [ -d $(VENV) ]; then echo "venv: made again from $$want"; rm -rf $(VENV); fi; \
	mkdir -p $(VENV) && echo "$$want" > $@

.PHONY: FORCE
FORCE:

# Re-run the install only when requirements.txt or requirements.lock is newer than the stamp.
# The lock's versions (without their hashes, which would put the installer in hash-checking
# mode for the test tools too) constrain every install, so a new release of a package the
# runtime pins only indirectly never reaches the tests before the lock takes it.
# The Python's own pip installs uv (pinned in requirements.txt) into a folder of its own, and uv
# everything else, itself and pip included, from the same index: pip fetches the ~100
# packages' index pages, metadata and files one request at a time, uv in parallel; the packages
# and versions installed are the same (`pip freeze` of both venvs compared).
# --compile-bytecode, as pip does: otherwise each of the test run's xdist workers would compile
# the same site-packages at once as it imports them (about 6.6 s of CPU each).
$(VENV)/.installed: requirements.txt requirements.lock | $(VPY)
	sed -n 's/^\([A-Za-z0-9_.-]*==[^ ]*\).*/\1/p' requirements.lock > $(VENV)/constraints.txt
	$(PYTHON3) -m pip install --quiet --disable-pip-version-check --upgrade --target $(VENV)/uv-bootstrap "$$(grep -E '^uv==' requirements.txt)"
	$(VENV)/uv-bootstrap/bin/uv pip install --compile-bytecode --python $(VPY) -r requirements.txt -c $(VENV)/constraints.txt
	rm -rf $(VENV)/uv-bootstrap
	@touch $@

# --- Node (GOV.UK Frontend, axe-core) ---------------------------------------------------

node: node_modules/.installed

# npm ci empties node_modules/, so the stamp is written afterwards.
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

assets: node
	$(PYTHON3) scripts/build_assets.py

# --- Tasks --------------------------------------------------------------------------------

run: install
	bash scripts/run_dev.sh

# The security scan runs beside pytest: pip-audit spends most of its minute waiting on the
# package index (it resolves requirements.txt in a scratch virtualenv), time the suite uses.
# Its report follows pytest's; either failing fails make test.
test: install
	bash scripts/check_services.sh
	$(RUFF) check .
	$(RUFF) format --check .
	@scan_log="$$(mktemp)"; \
	bash scripts/security_scan.sh >"$$scan_log" 2>&1 & scan=$$!; \
	echo "security-scan: running beside pytest (its report follows pytest's)"; \
	$(PYTEST) $(PYTEST_PARALLEL) $(PYTEST_ARGS); tests=$$?; \
	wait $$scan; scanned=$$?; cat "$$scan_log"; rm -f "$$scan_log"; \
	if [ $$scanned -ne 0 ]; then echo "make test: the security scan failed (above)"; fi; \
	if [ $$tests -ne 0 ]; then exit $$tests; fi; exit $$scanned

# Into the database make run uses (DEBUG=1 like make run, unless set): SQLite in var/, or
# DATABASE_URL when that is set.
import-staff: venv
	@if [ -z "$(CSV)" ]; then echo 'Usage: make import-staff CSV=path/to/staff.csv [ARGS="--full --dry-run"]'; exit 2; fi
	DEBUG=$${DEBUG:-1} $(VPY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(VPY) manage.py import_staff "$(CSV)" $(ARGS)

security-scan: venv
	bash scripts/security_scan.sh

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .

format: venv
	$(RUFF) format .
	$(RUFF) check --fix .

bench: install
	@if [ -f scripts/bench.sh ]; then \
		bash scripts/bench.sh; \
	else \
		echo "The benchmark is not built yet (scripts/bench.sh does not exist)."; \
		exit 1; \
	fi
