# Wencheng Scout — the two commands: `make run` and `make test`.  Both do whatever set-up is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
FLASK := $(BIN)/flask --app app

.PHONY: run test fuzz screenshots setup system-deps browser-deps redis-deps python-deps assets translations i18n db lint clean load load-deps bench bench-deps bench-peer

# Share links and QR codes point at the address served here unless SCOUTING_PUBLIC_URL says otherwise.  With several
# workers, gunicorn.conf.py starts a private redis-server for the rate-limit counts when one is installed.
run: export SCOUTING_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: setup db
ifeq ($(FLASK_DEBUG),1)
	$(FLASK) run --debug --host $(HOST) --port $(PORT)
else
	$(BIN)/gunicorn --config gunicorn.conf.py --workers $(WORKERS) --threads $(THREADS) --bind $(HOST):$(PORT) --access-logfile - app:app
endif

test: setup browser-deps redis-deps
	$(BIN)/ruff check scouting tests migrations app.py
	$(BIN)/bandit -q -r scouting -lll
	node --test tests/js/
	@if [ -z "$$SCOUTING_TEST_POSTGIS_URL" ] && command -v pg_ctlcluster >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  url=$$(scripts/postgis.sh) && export SCOUTING_TEST_POSTGIS_URL="$$url"; \
	fi; \
	$(BIN)/pytest $(PYTEST_ARGS)

# The map's key views (map, filtered, detail; zh and en; desktop and phone) as PNGs in docs/screens/ for the README.
screenshots: setup browser-deps
	$(BIN)/python scripts/screenshots.py

# Many more generated requests than `make test` sends (Schemathesis against /api/openapi.json and /ogc/api).
FUZZ_EXAMPLES ?= 500
fuzz: setup
	@if [ -z "$$SCOUTING_TEST_POSTGIS_URL" ] && command -v pg_ctlcluster >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  url=$$(scripts/postgis.sh) && export SCOUTING_TEST_POSTGIS_URL="$$url"; \
	fi; \
	SCOUTING_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SCOUTING_FUZZ_MIN_CASES=$${FUZZ_MIN_CASES:-20000} \
	  $(BIN)/pytest -q -p no:cacheprovider tests/test_schemathesis.py $(PYTEST_ARGS)

setup: system-deps python-deps assets translations

# Benchmarks of issue #6 against their peers -> bench/RESULTS.md.  QUICK=1: small data, under 5 minutes.
# PostGIS: SCOUTING_TEST_POSTGIS_URL, else the local cluster (scripts/postgis.sh, as root).
bench: setup bench-deps bench-peer
	$(BIN)/python bench/run.py $(if $(QUICK),--quick) $(BENCH_ARGS)

bench-deps:
	@scripts/need-packages.sh wrk gdal-bin curl python3-venv

# pygeoapi (the peer) pins its own dependencies: it gets a venv of its own on Debian's Python.
bench-peer: bench/.peer-venv/.installed
bench/.peer-venv/.installed: bench/peer-requirements.txt
	test -x bench/.peer-venv/bin/python || /usr/bin/python3 -m venv bench/.peer-venv
	bench/.peer-venv/bin/pip install --quiet --disable-pip-version-check -r bench/peer-requirements.txt
	touch $@

# mod_spatialite: installed with apt-get when we are root, else the exact command is printed.
system-deps:
	@scripts/need-packages.sh libsqlite3-mod-spatialite

browser-deps:
	@scripts/need-packages.sh chromium chromium-l10n fonts-noto-cjk fonts-noto-color-emoji

# The rate-limit test starts its own redis-server on a free port (shared counts between workers).
redis-deps:
	@scripts/need-packages.sh redis-server

python-deps: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

assets: static/vendor/.installed
static/vendor/.installed: package.json package-lock.json scripts/vendor.sh
	npm ci --no-audit --no-fund --loglevel=error
	scripts/vendor.sh
	touch $@

# Compiled message catalogues (*.mo) are built from the committed *.po files.  The Chinese catalogue is
# "zh": Babel names the zh_CN locale zh_Hans_CN, whose lookup falls back to zh, never to zh_CN.
translations: $(VENV)/.installed $(patsubst %.po,%.mo,$(wildcard scouting/translations/*/LC_MESSAGES/messages.po))
scouting/translations/%/LC_MESSAGES/messages.mo: scouting/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d scouting/translations -l $* >/dev/null

# After changing UI strings: extract them and merge into the catalogues (then translate the new ones).
i18n: python-deps
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ --no-location --omit-header -o scouting/translations/messages.pot .
	$(BIN)/pybabel update -i scouting/translations/messages.pot -d scouting/translations --no-fuzzy-matching --ignore-obsolete

# Migrate the configured database and seed it from geodata/ when it is empty (first run); sweep what a crash left.
db: python-deps
	$(FLASK) db upgrade
	$(FLASK) load-geodata --if-empty
	$(FLASK) sweep

# Load test (bench/load.sh): 32 clients for 30 s on SpatiaLite and PostGIS; writes bench/LOAD.md.
load: setup load-deps
	bench/load.sh

load-deps:
	@scripts/need-packages.sh wrk

lint: python-deps
	$(BIN)/ruff check scouting tests migrations app.py

clean:
	rm -rf $(VENV) node_modules static/vendor
