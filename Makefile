# fame: two commands on a fresh machine.  `make demo` runs the main job, `make test` runs the test suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
SHERPA_VENV := .venv-sherpa
BIN := $(VENV)/bin
SHERPA_PYTHON := $(shell scripts/find-sherpa-python 2>/dev/null)

.PHONY: demo test venv sherpa-env browser slurm lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=25.1"
	# torch first: the CPU build that lies on disk; a bare `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e . --group dev
	touch $@

# Sherpa 3.0.3 with its Python MEProcess binding (wheels for CPython 3.12/3.13 only), used as a subprocess.
sherpa-env: $(SHERPA_VENV)/.installed

$(SHERPA_VENV)/.installed:
	@if [ -z "$(SHERPA_PYTHON)" ]; then echo "no Python 3.12/3.13 found: Sherpa tests will be skipped"; exit 0; fi; \
	$(SHERPA_PYTHON) -m venv $(SHERPA_VENV) && \
	$(SHERPA_VENV)/bin/pip install -q sherpa-mc==3.0.3b2 numpy && touch $@

# Headless Chromium renders the validation report in a test (Debian's package; skipped where it cannot be had).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) \
	  || echo "chromium not installed: the browser test will be skipped"; }

# A single-node Slurm (Debian's slurm-wlm and munge) for the test of `fame sherpa dump --cluster slurm`;
# skipped (an allowed skip) where it cannot be had.
slurm:
	@{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && timeout 300 scripts/slurm-single-node >/dev/null 2>&1; } \
	  || echo "no Slurm controller: the Slurm test will be skipped"

demo: venv
	$(BIN)/fame demo --out demo-output

# FAME_STRICT_SKIPS=1: the run fails on any skip but the allowed ones (tests/conftest.py: no Sherpa Python, no
# Chromium, no Slurm)
test: venv sherpa-env browser slurm
	FAME_STRICT_SKIPS=1 $(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check lhe_tools fame_surrogate sherpa_plugin tests benchmarks examples
	$(BIN)/mypy

bench: venv
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) $(SHERPA_VENV) demo-output .pytest_cache
