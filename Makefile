# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run sandbox test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e '.[test,server]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cdshooks serve --host 127.0.0.1 --port $${PORT:-8080} --no-auth

# In-memory FHIR server with every fixture patient + the service (auth on) + the sandbox URL; Ctrl-C stops all.
sandbox: $(STAMP)
	$(BIN)/cdshooks dev --port $${PORT:-8080} --fhir-port $${FHIR_PORT:-8081}

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info
