# SteinSaksPapir research workbench. `make` prints this help.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help brief git-setup test lab lint docs system-deps synth env-yml lock bench clean-outputs

help: ## Show this help
	@echo "SteinSaksPapir research workbench"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# the pinned versions first (requirements.lock), then the project itself without resolving again
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

git-setup: $(STAMP) ## The notebook commit hook (pre-commit) and nbdime's git diff/merge drivers
	@$(VENV)/bin/ssp notebook setup-git

brief: $(STAMP) git-setup ## Evidence brief for Trondheim, latest wave, Bokmål, on the shipped synthetic data
	$(VENV)/bin/ssp brief

test: $(STAMP) git-setup system-deps ## Install what is missing, then lint and run all tests (incl. notebooks, R references)
	$(VENV)/bin/ruff check ssp_research tests benchmarks
	$(VENV)/bin/ssp notebook check
	$(PY) -m pytest -n 2 --dist loadscope -m "not slow" tests ssp_research
	SSP_OUTPUT_DIR=$$(mktemp -d) $(PY) -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly notebooks

system-deps: ## Debian packages the tests need (R with survey and psych, Chromium), installed when missing
	@bash tests/install_system_deps.sh

# JupyterLab refuses to start as root (as in many containers) unless told it may
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP) ## Open JupyterLab on the notebooks (with --allow-root when run as root)
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks

lint: $(STAMP) ## ruff (E, W, F, I)
	$(VENV)/bin/ruff check ssp_research tests benchmarks

docs: $(STAMP) ## The API reference site (Sphinx), into docs/_build/html; warnings are errors
	$(VENV)/bin/sphinx-build -b html -q -W --keep-going docs/site docs/_build/html
	@echo "open docs/_build/html/index.html"

synth: $(STAMP) ## Regenerate the shipped synthetic data in data/synthetic
	$(VENV)/bin/ssp synth --out data/synthetic

env-yml: $(STAMP) ## Regenerate environment.yml from pyproject.toml (pyproject2conda, offline)
	$(VENV)/bin/pyproject2conda yaml --pyproject pyproject.toml -e dev -e docs -p 3.11 -o environment.yml

# existing pins are kept where they still fit; `make lock LOCK_ARGS=--upgrade` moves to the newest
lock: ## Regenerate requirements.lock from pyproject.toml (uv pip compile: extras dev, docs; Python 3.11, Linux)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(PY) -m uv pip compile --quiet pyproject.toml --extra dev --extra docs --python-version 3.11 --python-platform linux $(LOCK_ARGS) -o requirements.lock

bench: $(STAMP) ## Run the benchmarks (prints ratios against baselines measured in the same run)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-outputs: ## Remove generated briefs and batch runs (output/)
	rm -rf output
