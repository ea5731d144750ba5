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
# `make analyze SOURCE=<file, folder, s3://bucket/prefix or cwl://group> [QUERY=] [VPC_CIDR=] [STACK=] [FORMAT=json]`
SOURCE ?=
QUERY ?=
VPC_CIDR ?=
ENDPOINT_URL ?=

.PHONY: check test verify benchmark analyze benchmark-analyze up-local down-local clean

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

analyze: $(STAMP)
	@test -n "$(SOURCE)" || { echo "make analyze needs SOURCE=<file, folder, s3://bucket/prefix or cwl://group>" >&2; exit 2; }
	$(PYTHON) -m tools.analyze "$(SOURCE)" --format $(FORMAT) $(if $(QUERY),--query $(QUERY),) \
		$(if $(VPC_CIDR),--vpc-cidr $(VPC_CIDR),) $(if $(STACK),--stack $(STACK),) \
		$(if $(ENDPOINT_URL),--endpoint-url $(ENDPOINT_URL),)

# 10 million synthetic records (written once to .benchmark-data/), plain gz and Parquet.
benchmark-analyze: $(STAMP)
	$(PYTHON) -m tools.benchmark_analyze

up-local: $(STAMP)
	bash tools/local_stack.sh up

down-local: $(STAMP)
	bash tools/local_stack.sh down

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmark-data
