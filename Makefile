# One venv/ for everything: Pulumi.yaml points the CLI at the same directory.
VENV := venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt requirements-install.txt policies/requirements.txt

# `make check` checks every stack in config/; STACK=<name> or STACK_FILE=<path> checks one.
STACK ?=
STACK_FILE ?= $(if $(STACK),config/Pulumi.$(STACK).yaml,)
FORMAT ?= text
OUTPUTS ?=
TIMEOUT ?=
POLL ?=
# `make analyze SOURCE=<file, folder, s3://bucket/prefix or cwl://group> [QUERY=] [VPC_CIDR=] [STACK=] [FORMAT=json]
# [ARGS='--since 2h --action REJECT ...']`: ARGS takes any other option of `vpc-flow-logs analyze`.
# `make report SOURCE=... OUT=report.html [VPC_CIDR=] [STACK=] [ARGS=...]`: the same analysis as one HTML page.
SOURCE ?=
OUT ?=
QUERY ?=
ARGS ?=
VPC_CIDR ?=
ENDPOINT_URL ?=
MUTANTS ?=

# `make pulumi-cli`: the Pulumi CLI built from its Go modules, beside a rehearsal substitute
# for its Python language host (tools/pulumi-cli/), in the git-ignored .tools/bin/. Needs Go;
# nothing else in this Makefile does, and a Pulumi CLI installed the usual way needs none of it.
TOOLS_BIN := .tools/bin
CLI_MODULE := tools/pulumi-cli
CLI_MODULE_FILES := $(CLI_MODULE)/go.mod $(CLI_MODULE)/go.sum
PULUMI := $(TOOLS_BIN)/pulumi
# The real host's module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
# is not served by the Go module proxy. Should it ever be, require it in $(CLI_MODULE)/go.mod,
# build its package here instead and drop rehearsal-language-python/.
LANGUAGE_HOST := $(TOOLS_BIN)/pulumi-language-python
LANGUAGE_HOST_SOURCES := $(wildcard $(CLI_MODULE)/rehearsal-language-python/*.go)
# The SDK's script that runs __main__.py for the language host; it sits next to the host.
LANGUAGE_EXEC := $(TOOLS_BIN)/pulumi-language-python-exec
IN_CLI_MODULE := cd $(CLI_MODULE) &&
REQUIRE_GO = command -v go >/dev/null || { echo "make pulumi-cli needs Go 1.26 (https://go.dev/dl/); make test and make check do not" >&2; exit 1; }
PINNED_PULUMI := $(shell sed -n 's/^pulumi==//p' requirements.txt)

.PHONY: check test e2e trino trino-test browser-test verify benchmark analyze report install-check benchmark-analyze up-local down-local clean pulumi-cli rehearsal-provider mutation

$(STAMP): $(REQUIREMENTS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

check: $(STAMP)
	$(PYTHON) -m tools.check --format $(FORMAT) $(or $(STACK_FILE),config/Pulumi.*.yaml)

# Two workers, one test file each at a time: files that share a fixed port stay on one worker.
test: $(STAMP)
	$(PYTHON) -m pytest -n 2 --dist loadfile

# The Go-built CLI and engine (make pulumi-cli) on throwaway state, with moto on 127.0.0.1 only;
# not part of `make test`. Two workers, one module or stack class each at a time: each stack's
# scenarios share one deployed copy on a moto server of its own.
e2e: $(STAMP) pulumi-cli rehearsal-provider
	$(PYTHON) -m pytest tests/e2e -n 2 --dist loadscope

# `make trino`: the Trino server (Maven Central, SHA-256 pinned in flowlogs/trino.py) in the git-ignored
# .tools/trino/; it needs a JDK 24.0.1 or later to run. `make trino-test` holds Trino's answers to
# DuckDB's on a node on 127.0.0.1; neither is part of `make test`, which needs no Java.
trino: $(STAMP)
	$(PYTHON) -m tools.install_trino

trino-test: $(STAMP) trino
	$(PYTHON) -m pytest tests/trino

# Headless Chromium renders the HTML report (tests/browser), over a DevTools pipe rather than a socket;
# not part of `make test`. Installs Debian's chromium when it is missing (needs root, as CI has).
browser-test: $(STAMP)
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	$(PYTHON) -m pytest tests/browser

verify: $(STAMP)
	$(PYTHON) -m tools.verify --stack $(or $(STACK),lab) $(if $(OUTPUTS),--outputs $(OUTPUTS),) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT),) $(if $(POLL),--poll-seconds $(POLL),)

benchmark: $(STAMP)
	$(PYTHON) -m tools.benchmark_check $(or $(STACK),lab)

analyze: $(STAMP)
	@test -n "$(SOURCE)" || { echo "make analyze needs SOURCE=<file, folder, s3://bucket/prefix or cwl://group>" >&2; exit 2; }
	$(PYTHON) -m flowlogs.cli analyze "$(SOURCE)" --format $(FORMAT) $(if $(QUERY),--query $(QUERY),) \
		$(if $(VPC_CIDR),--vpc-cidr $(VPC_CIDR),) $(if $(STACK),--stack $(STACK),) \
		$(if $(ENDPOINT_URL),--endpoint-url $(ENDPOINT_URL),) $(ARGS)

report: $(STAMP)
	@test -n "$(SOURCE)" -a -n "$(OUT)" || { echo "make report needs SOURCE=<file, folder, s3://bucket/prefix or cwl://group> and OUT=<file.html>" >&2; exit 2; }
	$(PYTHON) -m flowlogs.cli report "$(SOURCE)" --out "$(OUT)" \
		$(if $(VPC_CIDR),--vpc-cidr $(VPC_CIDR),) $(if $(STACK),--stack $(STACK),) \
		$(if $(ENDPOINT_URL),--endpoint-url $(ENDPOINT_URL),) $(ARGS)

# `pip install .` into a throwaway venv with requirements-install.txt's exact pins, then the installed
# `vpc-flow-logs` (no Pulumi there) on AWS's example records, run outside the checkout.
INSTALL_CHECK := .install-check
AWS_EXAMPLES := ../shared/reference/flow-log-records-aws-docs.txt
install-check:
	rm -rf $(INSTALL_CHECK) build && python3 -m venv $(INSTALL_CHECK)/venv
	$(INSTALL_CHECK)/venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements-install.txt .
	rm -rf build
	cd $(INSTALL_CHECK) && ! venv/bin/python -c "import pulumi" 2>/dev/null || { echo "pulumi is importable in $(INSTALL_CHECK)/venv" >&2; exit 1; }
	grep -v '^#' $(AWS_EXAMPLES) > $(INSTALL_CHECK)/aws-examples.log
	cd $(INSTALL_CHECK) && venv/bin/vpc-flow-logs analyze aws-examples.log --vpc-cidr 172.31.0.0/16
	cd $(INSTALL_CHECK) && venv/bin/vpc-flow-logs analyze aws-examples.log --format json \
		--sql "SELECT action, count(*) AS flows FROM flow_logs GROUP BY action" > sql.json
	cd $(INSTALL_CHECK) && venv/bin/python -c 'import json, sys; rows = json.load(open("sql.json"))["queries"]["sql"]; \
		lines = [l.split() for l in open("aws-examples.log") if l.strip()]; \
		want = {a: sum(l[12] == a for l in lines) for a in {l[12] for l in lines}}; \
		got = {r["action"] or "-": r["flows"] for r in rows}; \
		sys.exit(0 if got == want else f"--sql counted {got}, the file holds {want}")'
	cd $(INSTALL_CHECK) && ! venv/bin/vpc-flow-logs analyze aws-examples.log --sql "SELEC 1" 2>err.txt \
		&& grep -q "does not parse" err.txt && ! grep -q Traceback err.txt
	cd $(INSTALL_CHECK) && venv/bin/vpc-flow-logs report aws-examples.log --vpc-cidr 172.31.0.0/16 --out report.html
	cd $(INSTALL_CHECK) && venv/bin/python -c 'import sys; from plotly.offline import get_plotlyjs; \
		page = open("report.html", encoding="utf-8").read(); own = page.replace(get_plotlyjs(), "", 1); \
		sys.exit(0 if "<section id=\"summary\">" in page and "://" not in own else "report.html is not the report, or names an address outside the inlined plotly.js")'
	cd $(INSTALL_CHECK) && venv/bin/vpc-flow-logs analyze aws-examples.log --format ocsf > events.jsonl \
		&& test "$$(wc -l < events.jsonl)" = "$$(grep -c . aws-examples.log)"
	@echo "install-check: vpc-flow-logs installed from pyproject.toml without Pulumi: analyze, report and ocsf on AWS's examples"

# 10 million synthetic records (written once to .benchmark-data/), plain gz and Parquet.
benchmark-analyze: $(STAMP)
	$(PYTHON) -m tools.benchmark_analyze

up-local: $(STAMP)
	bash tools/local_stack.sh up

down-local: $(STAMP)
	bash tools/local_stack.sh down

# The rehearsal stand-in for the aws provider plugin (a test double, not pulumi-aws): the engine
# finds $(TOOLS_BIN)/pulumi-resource-aws on PATH. See the README.
rehearsal-provider: $(STAMP)
	$(PYTHON) -m tools.rehearsal_provider.launcher $(TOOLS_BIN)

# The CLI prints the version the linker gives it, as Pulumi's own release builds do.
$(PULUMI): $(CLI_MODULE_FILES)
	@$(REQUIRE_GO)
	$(IN_CLI_MODULE) go build -o $(CURDIR)/$@ \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

$(LANGUAGE_HOST): $(CLI_MODULE_FILES) $(LANGUAGE_HOST_SOURCES)
	@$(REQUIRE_GO)
	$(IN_CLI_MODULE) go build -o $(CURDIR)/$@ ./rehearsal-language-python

$(LANGUAGE_EXEC): $(CLI_MODULE_FILES)
	@$(REQUIRE_GO)
	$(IN_CLI_MODULE) go mod download github.com/pulumi/pulumi/sdk/v3
	install -D -m 0755 "$$($(IN_CLI_MODULE) go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)/python/cmd/pulumi-language-python-exec" $@

pulumi-cli: $(PULUMI) $(LANGUAGE_HOST) $(LANGUAGE_EXEC)
	@echo "$(PULUMI): Pulumi CLI $$($(PULUMI) version); requirements.txt pins pulumi $(PINNED_PULUMI)," \
		"but the Go module proxy serves neither pkg/v3 v3.272.0 nor v3.273.0, so the CLI is the nearest newer one"
	@echo "$(LANGUAGE_HOST): REHEARSAL SUBSTITUTE for the Python language host, version" \
		"$$($(LANGUAGE_HOST) -version), built from $(CLI_MODULE)/rehearsal-language-python" \
		"(the Go module proxy does not serve the real host's module)"

# Not part of `make test`: a full run takes about three hours on two cores. MUTANTS="flowlogs.fields.*" limits the run.
$(VENV)/.mutation-installed: $(STAMP) requirements-mutation.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	touch $@

mutation: $(VENV)/.mutation-installed
	$(PYTHON) -m tools.mutation $(MUTANTS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmark-data .browser-test mutants
