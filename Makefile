# tms: two commands on a fresh machine, `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
# checkov, the second IaC scanner, lives in its own environment (see requirements-scan.in for why).
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed-$(shell cat requirements-scan.lock | sha1sum | cut -c1-12)
CHECKOV := $(SCAN_VENV)/bin/checkov
# The functions' Python (contract/names.py LAMBDA_PYTHON, 3.13) with the whole lock: `make test` runs the unit
# and contract tests under it too, and `make layer` / synth compile the assets' bytecode with it. Only
# `make test` creates it, so `make demo` needs no Python 3.13.
LAMBDA_VENV := .venv-lambda
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed-$(shell cat requirements.lock pyproject.toml contract/names.py | sha1sum | cut -c1-12)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Python caches bytecode, even where the shell exports PYTHONDONTWRITEBYTECODE: without it every `tms`
# process and test worker recompiles our sources and re-rewrites the tests' asserts (~4 s CPU each). The
# virtualenvs are compiled once at install (--compile-bytecode); __pycache__ is gitignored and kept out of
# the Lambda assets.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo check test lambda-test lint typecheck unit integration synth layer deploy bench lock local clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
		echo "make: tms needs Python 3.11 to 3.13 and '$(PYTHON)' is not one: install one and run make PYTHON=python3.12 $(MAKECMDGOALS)" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

$(SCAN_STAMP): requirements-scan.lock $(STAMP)
	test -x $(SCAN_VENV)/bin/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(SCAN_VENV)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(SCAN_VENV)/bin/python requirements-scan.lock
	rm -f $(SCAN_VENV)/.installed-* && touch $(SCAN_STAMP)

# A .venv-lambda of another Python (LAMBDA_PYTHON changed) is made anew.
$(LAMBDA_STAMP): requirements.lock pyproject.toml contract/names.py $(STAMP)
	$(LAMBDA_VENV)/bin/python -c 'import sys; from contract.names import LAMBDA_PYTHON as v; \
		sys.exit("%d.%d" % sys.version_info[:2] != v)' 2>/dev/null || { rm -rf $(LAMBDA_VENV) && \
		py=$$($(BIN)/python -m infra.layer --python) && $(BIN)/uv venv --quiet --python "$$py" $(LAMBDA_VENV); }
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(LAMBDA_VENV)/bin/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(LAMBDA_VENV)/bin/python --no-deps -e .
	rm -f $(LAMBDA_VENV)/.installed-* && touch $(LAMBDA_STAMP)

install: $(STAMP) $(SCAN_STAMP) ## create the virtualenvs and install the pinned dependencies

demo: install ## run 100 realistic tickets through the local pipeline and summarize
	@$(BIN)/python -m tools.prereqs
	$(BIN)/tms demo --tickets 100 --seed 7 --kb examples/kb

local: install ## start the local stack and keep it running
	$(BIN)/tms local up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy contract pipeline bot infra glue local tools scripts

# loadfile: each file stays whole on one worker; tests/conftest.py hands out the heaviest files first.
# --durations prints the slowest tests.
PYTEST := $(BIN)/pytest -n 2 --dist loadfile -q --durations=15

# The quick loop leaves out the Spark transforms (a JVM start and ~100 s of Spark on 2 cores): `make unit`
# and `make test` run them.
check: lint typecheck ## the quick loop (~40 s on 2 cores): lint, type-check, unit and contract tests without Spark
	$(PYTEST) -m "not spark" tests/unit tests/contract

test: lint typecheck lambda-test ## lint, type-check, the Lambda-side tests on 3.13, the whole suite (what CI runs)
	$(PYTEST)

# The unit and contract tests (Spark aside) again under the functions' Python: the handlers, the bot and the
# contract they share run there on Lambda, while the main suite runs on the project's Python (docs/testing.md).
lambda-test: $(LAMBDA_STAMP)
	$(LAMBDA_VENV)/bin/pytest -n 2 --dist loadfile -q -m "not spark" tests/unit tests/contract

unit: install
	$(PYTEST) tests/unit tests/contract

integration: install
	$(PYTEST) tests/integration tests/e2e

synth: install ## offline: CDK synth + cdk-nag (fails on findings) + cfn-lint + checkov (fails on findings)
	rm -rf cdk.out
	$(BIN)/python infra/app.py
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json
	BC_SKIP_MAPPING=TRUE $(CHECKOV) --framework cloudformation --skip-download --compact --quiet \
		-f cdk.out/*.template.json

layer: install ## Lambda dependency layer: wheels for Lambda's Python and glibc, pinned by requirements.lock
	$(BIN)/python -m infra.layer build/lambda-layer

deploy: layer ## deploy to the AWS account of your current credentials (needs `npm install -g aws-cdk`)
	TMS_DEPLOY_REQUIRE_LAYER=true npx cdk deploy --require-approval broadening

bench: install ## benchmarks (each prints a table)
	$(BIN)/python bench/pipeline.py

lock: ## re-resolve the pinned dependencies after editing pyproject.toml
	$(BIN)/uv pip compile --quiet pyproject.toml --extra local --extra infra --extra dev --python-version 3.11 --override lock-overrides.txt -o requirements.lock
	$(BIN)/uv pip compile --quiet requirements-scan.in --python-version 3.11 -o requirements-scan.lock

clean:
	rm -rf $(VENV) $(SCAN_VENV) $(LAMBDA_VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
