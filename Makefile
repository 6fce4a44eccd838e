# Two entry points: `make demo` builds and serves the demo city, `make test` runs every test.
# Both create .venv, install the Python package, and build the viewer with npm.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VIEWER := viewer/dist/index.html
PYTHON ?= python3

.PHONY: demo test lint viewer bench-viewer system-deps clean

demo: $(STAMP) $(VIEWER)
	$(BIN)/cimtwin demo

test: system-deps $(STAMP) $(VIEWER)
	$(MAKE) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

viewer: $(VIEWER)

# Page load to first tile on the demo city, in headless Chromium.
bench-viewer: system-deps $(STAMP) $(VIEWER)
	$(BIN)/python bench/bench_viewer.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev,bench]'
	touch $(STAMP)

# The build also copies dist/ into api/viewer_dist/, which the wheel packages.
$(VIEWER): viewer/package.json viewer/package-lock.json viewer/build.mjs $(wildcard viewer/src/*)
	cd viewer && npm ci --no-audit --no-fund && npm run build

# Debian packages the tests need: Chromium for the browser tests (and a Chinese font for its
# zh-CN screenshots), GDAL's ogrinfo, PostgreSQL with PostGIS (the tests start their own
# cluster), Mosquitto (the MQTT tests and the demo start their own broker).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v ogrinfo >/dev/null \
		|| ! fc-list :lang=zh 2>/dev/null | grep -q . \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
		|| ! test -x /usr/sbin/mosquitto; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			chromium gdal-bin fonts-wqy-zenhei postgresql postgresql-15-postgis-3 mosquitto; \
	fi

clean:
	rm -rf $(VENV) viewer/node_modules viewer/dist api/viewer_dist demo-city
