# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per install: `make run` needs only the server extra (gunicorn), the
# test extra (pytest, schemathesis, ...) is installed by the first `make test`.
# Each stamp is redone when pyproject.toml changes.
SERVER_STAMP := $(VENV)/.installed-server
TEST_STAMP   := $(VENV)/.installed-test
LINT_STAMP   := $(VENV)/.installed-lint

# The reverse-proxy tests (tests/integration/test_reverse_proxy.py) run a real nginx, Debian's
# package: `test-servers` installs it when it is missing (apt-get; with sudo when not root) and
# does nothing when it is there. CDSHOOKS_REQUIRE_SERVERS=1 makes those tests fail rather than
# skip without nginx; `make test CDSHOOKS_REQUIRE_SERVERS=0` neither installs nor requires it.
# The same holds for chromium (the HTML report test) and postgresql (the PostgreSQL store tests).
CDSHOOKS_REQUIRE_SERVERS ?= 1
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: run sandbox test test-servers lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e '.[server]'
	touch $@

# On top of the server install, so `make run` after `make test` installs nothing.
$(TEST_STAMP): $(SERVER_STAMP) pyproject.toml
	$(BIN)/python -m pip install -e '.[test,server]'
	touch $@

$(LINT_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[lint]' >/dev/null
	touch $@

run: $(SERVER_STAMP)
	$(BIN)/cdshooks serve --host 127.0.0.1 --port $${PORT:-8080} --no-auth

# In-memory FHIR server with every fixture patient + the service (auth on) + the sandbox URL; Ctrl-C stops all.
sandbox: $(SERVER_STAMP)
	$(BIN)/cdshooks dev --port $${PORT:-8080} --fhir-port $${FHIR_PORT:-8081}

test: $(TEST_STAMP) test-servers
	CDSHOOKS_REQUIRE_SERVERS=$(CDSHOOKS_REQUIRE_SERVERS) $(BIN)/python -m pytest -n 2 -q

# ruff and mypy with their settings in pyproject.toml ([tool.ruff], [tool.mypy]); the service package is kept clean.
lint: $(LINT_STAMP)
	$(BIN)/ruff check cdshooks
	$(BIN)/mypy

# $(call require_package,<shell test that it is there>,<Debian package>,<the tests that need it>):
# nothing when it is there; else apt-get installs it (with sudo when not root), or make test stops
# saying how to skip those tests.
define require_package
	@$(1) || { \
	  command -v apt-get >/dev/null 2>&1 || { \
	    echo "make test: $(3) need $(2): install it, or run make test CDSHOOKS_REQUIRE_SERVERS=0" >&2; \
	    exit 1; }; \
	  echo "make test: installing $(2) (Debian package) for $(3)"; \
	  $(APT_INSTALL) $(2) >/dev/null 2>&1 || { \
	    $(SUDO) apt-get update -q >/dev/null && $(APT_INSTALL) $(2) >/dev/null; }; }
endef

# nginx: tests/integration/test_reverse_proxy.py. chromium: the HTML report test
# (tests/cli/test_report_html.py, driven by Playwright from PyPI, which never downloads a browser).
# postgresql: the store tests start their own server from its binaries (initdb, pg_ctl under
# /usr/lib/postgresql/<version>/bin).
test-servers:
ifneq ($(CDSHOOKS_REQUIRE_SERVERS),0)
	$(call require_package,command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx,nginx,the reverse-proxy tests)
	$(call require_package,test -x /usr/bin/chromium,chromium,the HTML report tests)
	$(call require_package,ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1,postgresql,the PostgreSQL store tests)
endif

# Results go to bench/results/bench-<UTC time>.json (ignored by git); the
# committed bench/results/latest.json (the run the README quotes) is never written.
bench: $(SERVER_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info
