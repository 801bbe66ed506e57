# Two commands do all set-up on a fresh machine:
#   make demo   -> venv + install + generate demo data + run the weekly flow + write reports
#   make test   -> venv + install (+ Debian chromium and postgresql for the browser and source tests) + pytest
VENV    ?= .venv
PYTHON  ?= python3
PY       = $(VENV)/bin/python
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_SKUS ?= 500

.PHONY: install demo test test-fast browser postgres bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(VENV)/bin/safestock demo --out demo_output --skus $(DEMO_SKUS)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

postgres:
	@[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "Installing Debian postgresql for the PostgreSQL source tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; }

test: install browser postgres
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/end_to_end.py --skus 10000

clean:
	rm -rf demo_output .pytest_cache tests/artifacts
