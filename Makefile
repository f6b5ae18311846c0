# cicl — two commands on a fresh machine: `make demo` then `make test`.
SHELL := /bin/bash
# The interpreter the venv is made with: PYTHON=... or the newest of python3.13, 3.12, 3.11 that
# runs (a pyenv shim for a version that is not installed is on PATH but fails).
SUPPORTED_PYTHONS := python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(SUPPORTED_PYTHONS),$(shell $(p) -c "" >/dev/null 2>&1 && echo $(p))))
endif
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export CICL_WAREHOUSE ?= duckdb
export CICL_DUCKDB_PATH ?= .cicl/warehouse.duckdb
export CICL_LANDING_URI ?= .cicl/landing
export CICL_OUTBOX_URI ?= .cicl/outbox
export CICL_CONFIG_DIR ?= config
export DAGSTER_HOME ?= $(CURDIR)/.cicl/dagster_home
# Every command starts interpreters that import Dagster (`make run` one, the suite hundreds): with
# PYTHONDONTWRITEBYTECODE set in the shell, each would compile Dagster and its dependencies from
# source again (~8 s of CPU each). Their bytecode is cached under .cicl/pycache instead.
export PYTHONDONTWRITEBYTECODE =
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/.cicl/pycache
KEYS ?= .cicl/keys
# The demo's platform repository (`make demo` seeds it); `make run` uses it unless
# CICL_PLATFORM_REPO names another.
PLATFORM_REPO ?= .cicl/platform
# Test processes: the suite waits on emulators, subprocesses and the browser, so two workers
# roughly halve it on a 2-core machine. Tests of one module stay on one worker, so a module's
# expensive fixtures (a whole `cicl.py run`) are built once.
TEST_WORKERS ?= 2
# `make test TEST_PATHS=tests/unit` runs a part of the suite (the CI workflow's unit and
# integration jobs); PYTEST_ARGS adds options, e.g. report files under $(REPORTS).
TEST_PATHS ?=
PYTEST_ARGS ?=
REPORTS := .cicl/reports

# The demo's keys (`make demo` makes them under $(KEYS); nothing trusted ships in config/) reach
# cicl through the environment, unless the environment already names keys of its own.
WITH_KEYS = \
  CICL_ATTESTATION_PUBLIC_KEY="$${CICL_ATTESTATION_PUBLIC_KEY:-$$(cat $(KEYS)/attestation-signing.pub.pem 2>/dev/null)}" \
  CICL_SIGNING_KEY="$${CICL_SIGNING_KEY:-$$(cat $(KEYS)/cicl-signing.key.pem 2>/dev/null)}" \
  CICL_REDACTION_KEY="$${CICL_REDACTION_KEY:-$$(cat $(KEYS)/cicl-redaction.key 2>/dev/null)}" \
  CICL_TRUST_FILE="$${CICL_TRUST_FILE:-$$(test -f $(KEYS)/trust.yaml && echo $(KEYS)/trust.yaml)}"

WITH_PLATFORM = \
  CICL_PLATFORM_REPO="$${CICL_PLATFORM_REPO:-$$(test -d $(PLATFORM_REPO) && echo $(PLATFORM_REPO))}"

# A release to the demo's platform repository (CICL_PLATFORM_REPO unset) is dated on the clock of
# the demo's weeks-old traffic, so its deployment and the traffic after it fall on the data's days
# (docs/release.md, "The demo's release"); any other repository's on the wall clock.
WITH_DEMO_CLOCK = \
  CICL_RELEASE_CLOCK="$${CICL_RELEASE_CLOCK:-$$(test -z "$${CICL_PLATFORM_REPO:-}" && test -d $(PLATFORM_REPO) && echo data)}"

.PHONY: venv demo demo-data run test soak emulators emulators-up emulators-down browser postgres \
  kubectl clang lint ui ui-postgres bench fuzz clean test-fallback dogfood sast audit sbom promote \
  cicl after-release

venv: $(STAMP)

# The package install builds the compiled OTLP decoder in place (setup.py): a changed C source
# reinstalls it. Without a compiler it is skipped and the pure-Python decoder is used.
$(STAMP): requirements.lock pyproject.toml setup.py $(wildcard cicl_assets/telemetry/*.c cicl_assets/telemetry/*.h)
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' \
	  || { echo "make: cicl needs Python 3.11, 3.12 or 3.13: PYTHON='$(PYTHON)' is not one (none of $(SUPPORTED_PYTHONS) runs here?)" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --default-pip
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $(STAMP)

# The instance config: no telemetry, no "join the community" dialog over the UI (nux).
$(DAGSTER_HOME)/dagster.yaml: Makefile
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > $@

## demo: fresh keys under .cicl/keys (first time), the sample landing zone, then `make run`
demo: venv demo-data run
# The demo's history is weeks old: its retention measures age against its own newest data.
demo: export CICL_RETENTION_CLOCK ?= data

demo-data: venv
	$(PY) -m demo --out $(CICL_LANDING_URI) --keys $(KEYS) --platform-repo $(PLATFORM_REPO)

## run: materialize everything the landing zone at CICL_LANDING_URI feeds, print a summary
run: venv $(DAGSTER_HOME)/dagster.yaml
	$(WITH_KEYS) $(WITH_PLATFORM) $(PY) scripts/cicl.py run

## cicl: scripts/cicl.py $(ARGS) with the keys and platform repository `make run` passes
## (make cicl ARGS="release"; the reviewer's walk-through in README.md)
cicl: venv $(DAGSTER_HOME)/dagster.yaml
	$(WITH_KEYS) $(WITH_DEMO_CLOCK) $(WITH_PLATFORM) $(PY) scripts/cicl.py $(ARGS)

## after-release: what the demo's platform sends once it has deployed release RELEASE (its
## manifest id or path) to production: the deployment record and the traffic around it
## (python -m demo.after_release --help), into the landing zone; `make run` ingests them
after-release: venv
	@test -n "$(RELEASE)" || { echo 'make: RELEASE=<manifest id> (`make cicl ARGS="release"` prints it)' >&2; exit 1; }
	$(PY) -m demo.after_release --landing $(CICL_LANDING_URI) --outbox $(CICL_OUTBOX_URI) --release $(RELEASE)

## emulators: build the BigQuery and GCS emulators' virtualenvs (cached in .cicl/emulators)
emulators: venv
	$(PY) -m tests.emulators --check

## emulators-up: both emulators in the background on free loopback ports; prints the variables
## to export (eval "$$(make -s emulators-up)"); emulators-down stops them
emulators-up: venv
	@$(PY) -m tests.emulators up

emulators-down: venv
	@$(PY) -m tests.emulators down

## browser: Debian's Chromium for the UI tests (installed when missing; needs root or sudo)
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## postgres: Debian's PostgreSQL for the Postgres-backed instance tests and `make ui-postgres`
## (installed when missing; needs root or sudo)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

## kubectl: renders the Kustomize overlays in the deploy tests, which need its kustomize 4.1+
## (kubectl 1.22+: google-cloud-cli's or a CI runner's). When none is installed, Debian's
## kubernetes-client (needs root or sudo); at 1.20 it is too old, and the tests say so.
kubectl:
	@command -v kubectl >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq kubernetes-client >/dev/null; }

## test: the whole suite (starts the BigQuery and GCS emulators, PostgreSQL and a headless
## browser itself)
test: venv emulators browser postgres kubectl
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS) $(TEST_PATHS)

## test-fallback: the OTLP, ingest and exactly-once tests as a machine without a C compiler
## runs them: from a copy of the source tree without the compiled decoder (git's files only; the
## extension is git-ignored), with CICL_COMPILED_DECODERS=off. Installing with
## CICL_BUILD_EXTENSION=off gives that form too.
FALLBACK := .cicl/fallback
FALLBACK_ENV = PYTHONPATH=$$PWD CICL_COMPILED_DECODERS=off \
  CICL_EMULATOR_CACHE=$${CICL_EMULATOR_CACHE:-$(CURDIR)/.cicl/emulators}
FALLBACK_TESTS ?= tests/unit/telemetry tests/unit/ingest tests/unit/test_ingest_runner.py \
  tests/unit/test_exactly_once.py tests/unit/test_poison_files.py \
  tests/unit/test_invalid_utf8_every_stream.py tests/integration/test_telemetry_assets.py
test-fallback: venv emulators
	rm -rf $(FALLBACK) && mkdir -p $(FALLBACK)
	git ls-files -z --cached --others --exclude-standard \
	  | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(FALLBACK)
	cd $(FALLBACK) && $(FALLBACK_ENV) $(abspath $(PY)) -c \
	  'from cicl_assets.telemetry import otlp_compiled as c; assert c._otlp_decode is None, c'
	cd $(FALLBACK) && $(FALLBACK_ENV) $(abspath $(PY)) -m pytest -q \
	  -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS) $(FALLBACK_TESTS)

## sast / audit / sbom: bandit's SARIF, pip-audit's JSON for requirements.lock (asks PyPI's
## vulnerability data about every locked package) and the CycloneDX SBOM of the lock, in $(REPORTS)
sast: venv
	mkdir -p $(REPORTS)
	$(VENV)/bin/bandit -q -r cicl_assets jobs sensors definitions.py scripts -f sarif -o $(REPORTS)/bandit.sarif

audit: venv
	mkdir -p $(REPORTS)
	$(VENV)/bin/pip-audit --requirement requirements.lock --no-deps --disable-pip --format json --output $(REPORTS)/pip-audit.json

sbom: venv
	mkdir -p $(REPORTS)
	$(VENV)/bin/cyclonedx-py requirements --of JSON -o $(REPORTS)/sbom.cdx.json requirements.lock

## dogfood: cicl's own CI stages that run here into .cicl/dogfood/landing/ci/<run-id>/, then
## `cicl.py run` into .cicl/dogfood/warehouse.duckdb (DOGFOOD_ARGS="--short" for a quick one)
dogfood: venv
	rm -rf .cicl/dogfood
	$(PY) -m tests.dogfood --out .cicl/dogfood $(DOGFOOD_ARGS)

## promote: apply overlay ENV (dev, staging, production) with the image digest DIGEST to the
## cluster kubectl points at (the CI workflow's promote jobs)
promote: kubectl
	@[[ "$(ENV)" =~ ^(dev|staging|production)$$ && "$(DIGEST)" =~ ^sha256:[0-9a-f]{64}$$ ]] \
	  || { echo "make promote ENV=dev|staging|production DIGEST=sha256:<64 hex>" >&2; exit 1; }
	kubectl kustomize deploy/k8s/overlays/$(ENV) \
	  | sed -E 's/@sha256:0{64}/@$(DIGEST)/g' | kubectl apply -f -

## soak: the kill loop's full form: `cicl.py run` killed at 20 seeded points and run again,
## then equal to a clean run (SOAK_ARGS="--form episodes" compares after each kill)
soak: venv
	$(PY) -m tests.soak --kills 20 $(SOAK_ARGS)

## clang: Debian's clang and its libFuzzer runtime, for `make fuzz` (installed when missing;
## needs root or sudo)
clang:
	@command -v clang >/dev/null && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
	  >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; }

## fuzz: the compiled OTLP decoders' C (protobuf traces and logs, the OTLP/JSON traces reader)
## under ASan/UBSan, then LeakSanitizer, on the fuzz sets and 20k seeded mutants of each;
## coverage-guided (clang's libFuzzer) for FUZZ_SECONDS; then each compared with its pure-Python
## decoder for FUZZ_SECONDS (FUZZ_ARGS="--raw": the protobuf extension alone, for valgrind). A
## libFuzzer finding is written to $(FUZZ)/crash-*.
FUZZ_SECONDS ?= 300
FUZZ := .cicl/fuzz
FUZZ_C = -g -O1 -std=c11 -fsanitize=address,undefined -fno-sanitize-recover=all \
  -I cicl_assets/telemetry tests/fuzz/otlp_target.c
fuzz: venv clang
	rm -rf $(FUZZ) && mkdir -p $(FUZZ)/corpus
	$(PY) -m tests.unit.telemetry.otlp_fuzz --write $(FUZZ)/inputs --count 20000
	$(PY) -m tests.unit.telemetry.otlp_logs_fuzz --write $(FUZZ)/inputs --count 20000
	$(PY) -m tests.unit.telemetry.otlp_json_fuzz --write $(FUZZ)/inputs/json --count 20000
	gcc -DCICL_STANDALONE $(FUZZ_C) -o $(FUZZ)/otlp-target
	find $(FUZZ)/inputs -type f -print0 | xargs -0 $(FUZZ)/otlp-target
	clang -fsanitize=fuzzer $(FUZZ_C) -o $(FUZZ)/otlp-libfuzzer
	$(FUZZ)/otlp-libfuzzer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ)/ $(FUZZ)/corpus $(FUZZ)/inputs
	gcc -DCICL_STANDALONE -g -O1 -std=c11 -fsanitize=leak -I cicl_assets/telemetry \
	  tests/fuzz/otlp_target.c -o $(FUZZ)/otlp-lsan
	find $(FUZZ)/inputs $(FUZZ)/corpus -type f -print0 | xargs -0 $(FUZZ)/otlp-lsan
	$(PY) -m tests.unit.telemetry.otlp_fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)
	$(PY) -m tests.unit.telemetry.otlp_logs_fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)
	$(PY) -m tests.unit.telemetry.otlp_json_fuzz --seconds $(FUZZ_SECONDS)

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

## ui: the Dagster webserver and daemon on 127.0.0.1:3000
# The instance's storage is created first, under cicl's lock: a `cicl.py` command started beside
# `make ui` on a new DAGSTER_HOME would otherwise race the webserver to create it.
ui: venv $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m cicl_assets.instance
	$(WITH_KEYS) $(WITH_DEMO_CLOCK) $(WITH_PLATFORM) $(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000

## ui-postgres: webserver and daemon on a local PostgreSQL (data in .cicl/postgres, kept between
## runs) with the single-VM production instance config, deploy/dagster/dagster-vm.yaml
PG_DAGSTER_HOME := $(CURDIR)/.cicl/dagster_home_postgres
ui-postgres: venv postgres
	mkdir -p $(PG_DAGSTER_HOME) && cp deploy/dagster/dagster-vm.yaml $(PG_DAGSTER_HOME)/dagster.yaml
	$(WITH_KEYS) $(WITH_PLATFORM) DAGSTER_HOME=$(PG_DAGSTER_HOME) $(PY) -m tests.emulators.postgres run \
	  --data .cicl/postgres -- $(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000

## bench: ingestion benchmarks against a naive baseline in the same process; the compiled OTLP
## decoders (traces, logs) against their pure-Python fallbacks; the regression
## detectors over a large span table, and their efficacy over 50 seeded scenarios of each kind;
## `cicl.py run` (first, no-op, one new hour) over 2, 16 and 128 days of history
bench: venv
	$(PY) benchmarks/otlp_ingest.py
	$(PY) benchmarks/otlp_decoders.py
	$(PY) benchmarks/otlp_logs_decoders.py
	$(PY) benchmarks/regressions.py
	$(PY) -m tests.unit.learning.regressions.scenario --runs 50
	$(PY) benchmarks/scale.py

clean:
	rm -rf .cicl
