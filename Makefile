# One venv/ for everything: Pulumi.yaml points the CLI at the same directory.
VENV := venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt policies/requirements.txt

# `make check` checks every stack in config/; STACK=<name> or STACK_FILE=<path> checks one.
STACK ?=
STACK_FILE ?= $(if $(STACK),config/Pulumi.$(STACK).yaml,)
FORMAT ?= text
OUTPUTS ?=
TIMEOUT ?=
POLL ?=
MUTANTS ?=

.PHONY: check test verify benchmark up-local down-local mutation clean

$(STAMP): $(REQUIREMENTS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

check: $(STAMP)
	$(PYTHON) -m tools.check --format $(FORMAT) $(or $(STACK_FILE),config/Pulumi.*.yaml)

test: $(STAMP)
	$(PYTHON) -m pytest

verify: $(STAMP)
	$(PYTHON) -m tools.verify --stack $(or $(STACK),lab) $(if $(OUTPUTS),--outputs $(OUTPUTS),) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT),) $(if $(POLL),--poll-seconds $(POLL),)

benchmark: $(STAMP)
	$(PYTHON) -m tools.benchmark_check $(or $(STACK),lab)

up-local: $(STAMP)
	bash tools/local_stack.sh up

down-local: $(STAMP)
	bash tools/local_stack.sh down

# Not part of `make test`: about an hour on two cores. MUTANTS="flowlogs.fields.*" limits the run.
$(VENV)/.mutation-installed: $(STAMP) requirements-mutation.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	touch $@

mutation: $(VENV)/.mutation-installed
	$(PYTHON) -m tools.mutation $(MUTANTS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis mutants
