# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per install: `make run` needs only the server extra (gunicorn), the
# test extra (pytest, schemathesis, ...) is installed by the first `make test`.
# Each stamp is redone when pyproject.toml changes.
SERVER_STAMP := $(VENV)/.installed-server
TEST_STAMP   := $(VENV)/.installed-test

.PHONY: run test bench clean

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

run: $(SERVER_STAMP)
	$(BIN)/cdshooks serve --host 127.0.0.1 --port $${PORT:-8080} --no-auth

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 -q

# Results go to bench/results/bench-<UTC time>.json (ignored by git); the
# committed bench/results/latest.json (the run the README quotes) is never written.
bench: $(SERVER_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info
