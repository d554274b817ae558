# Every target sets up what it needs on a fresh Linux machine: virtualenv, Python packages,
# amazon-kclpy with its jars, and (for the KCL tests) a Java runtime.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DEPLOY_TOOLS := deploy/node_modules/.bin/cdk .cache/checkov/bin/checkov

.PHONY: synth deploy-tools java chromium dashboard-assets browser demo test unit integration kcl lint fmt bench up clean docker-wheelhouse docker-test lock-images mutation

$(STAMP): pyproject.toml scripts/install_kclpy.py consumer/kcl_jars.tsv
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[local,dev,deploy,dashboard]'
	$(BIN)/python scripts/install_kclpy.py
	@touch $(STAMP)

# The dashboard's chart library from the npm registry (pinned in package-lock.json), copied
# into the package's static folder (git-ignored): the page loads nothing from a CDN.
DASHBOARD_WEB := stockpipe/dashboard/web
DASHBOARD_VENDOR := stockpipe/dashboard/static/vendor/lightweight-charts.standalone.production.js
$(DASHBOARD_VENDOR): $(DASHBOARD_WEB)/package.json $(DASHBOARD_WEB)/package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
	cd $(DASHBOARD_WEB) && npm ci --no-fund --no-audit --silent
	mkdir -p $(@D)
	cp $(DASHBOARD_WEB)/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js \
	  $(DASHBOARD_WEB)/node_modules/lightweight-charts/LICENSE $(@D)/

dashboard-assets: $(DASHBOARD_VENDOR)

# The browser tier drives Debian's Chromium (Playwright's own browser download needs the internet)
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

browser: $(STAMP) chromium dashboard-assets
	$(BIN)/pytest tests/browser -m browser

java:
	@command -v java >/dev/null || { apt-get update -q && apt-get install -y -q openjdk-17-jre-headless; }

demo: $(STAMP) dashboard-assets
	$(BIN)/stockpipe demo

up: $(STAMP) dashboard-assets
	$(BIN)/stockpipe up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The CDK CLI (pinned in deploy/package-lock.json) and checkov (its own virtualenv: it pins
# many packages the app's environment also uses). Node.js from Debian when missing.
deploy/node_modules/.bin/cdk: deploy/package.json deploy/package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
	cd deploy && npm ci --no-fund --no-audit --silent
	@touch $@

.cache/checkov/bin/checkov:
	$(PYTHON) -m venv .cache/checkov
	.cache/checkov/bin/python -m pip install -q checkov==3.3.30

deploy-tools: $(DEPLOY_TOOLS)

# `cdk synth` needs no AWS account: templates land in deploy/cdk.out
synth: $(STAMP) deploy/node_modules/.bin/cdk
	cd deploy && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 node_modules/.bin/cdk synth --quiet

test: $(STAMP) java chromium dashboard-assets lint $(DEPLOY_TOOLS)
	$(MAKE) docker-test
	$(BIN)/pytest -m "not docker"

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

bench: $(STAMP)
	$(BIN)/python -m bench.producer_bench
	$(BIN)/python -m bench.consumer_bench
	$(BIN)/python -m bench.history_bench
	$(BIN)/python -m bench.emulator_bench
	$(BIN)/python -m bench.trend_bench
	$(MAKE) chromium dashboard-assets
	$(BIN)/python -m bench.dashboard_bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache mutants

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml), not part of `make
# test`: a fresh run of every mutant on one worker, then the score per module and the list of
# undetected mutants (mutants/survivors.md). About 45 min on the shared 2-core machine: docs/testing.md.
MUTMUT := $(VENV)/.mutmut
$(MUTMUT): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[mutation]'
	@touch $@

mutation: $(MUTMUT)
	rm -rf mutants
	$(BIN)/python scripts/with_emulator.py $(BIN)/mutmut run --max-children 1
	$(BIN)/python scripts/mutation_report.py --survivors mutants/survivors.md

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The docker tier: a private engine (scripts/docker-engine.sh), an offline base image made
# with mmdebstrap, images built from a host-made wheelhouse (before the tests: a cold build
# on a busy machine outlasts a test's timeout), testcontainers + compose tests.
DOCKER_HOST_SOCK := unix://$(CURDIR)/.cache/docker/docker.sock

# wheels for the base image's interpreter (Debian bookworm: CPython 3.11.2, glibc 2.36), not
# the host's, exactly the hashed pins of every image's lock. pip does not widen an explicit
# --platform to older manylinux levels, so each glibc level is named.
IMAGE_PYTHON := 3.11.2
IMAGE_LOCKS := $(wildcard docker/requirements-*.txt)
docker-wheelhouse: $(STAMP) dashboard-assets
	$(BIN)/python -m pip download -q -d docker/wheelhouse --only-binary=:all: --no-deps \
	  --require-hashes --python-version $(IMAGE_PYTHON) --implementation cp --abi cp311 \
	  $(foreach glibc,17 24 26 27 28 31 34 35 36,--platform manylinux_2_$(glibc)_x86_64) \
	  --platform manylinux2014_x86_64 --platform linux_x86_64 \
	  $(foreach lock,$(IMAGE_LOCKS),-r $(lock))
	$(BIN)/python scripts/install_kclpy.py --wheel-dir docker/wheelhouse

# the images' hashed locks from pyproject.toml ([tool.stockpipe.images]); needs PyPI
lock-images: $(STAMP)
	@$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/python -m pip install -q uv==0.13.8
	$(BIN)/python scripts/lock_images.py

docker-test: $(STAMP) docker-wheelhouse
	scripts/docker-engine.sh start >/dev/null; trap 'scripts/docker-engine.sh stop' EXIT; \
	export DOCKER_HOST=$(DOCKER_HOST_SOCK) STOCKPIPE_BASE_IMAGE=stockpipe-base:bookworm \
	  STOCKPIPE_PIP_ARGS=--no-index TESTCONTAINERS_RYUK_DISABLED=true; \
	scripts/docker-base-image.sh stockpipe-base:bookworm \
	  && docker-compose -f docker-compose.yml build -q && $(BIN)/pytest tests/docker -m docker
