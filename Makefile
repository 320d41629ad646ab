# From a fresh clone:  `make book` builds the website, `make test` runs every test.
# Both create .venv and install requirements.txt plus course_utils (editable) first.
# Offline data: export COURSE_DATA_DIR=/path/to/mirror (on the course machines ../shared/data).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export COURSE_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: venv book test test-fast sync clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## Build the website into _build/html, executing every chapter (CPU profile without a GPU).
book: $(STAMP)
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going

## Run all tests: unit tests, pairing/TOC/Colab-link checks, the book build, nbval over notebooks/.
test: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=600 --durations=15 tests notebooks

## Unit tests only (no notebooks, no book build): seconds, for quick iteration.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not book" tests

## Re-pair every chapter after editing book/*.md (or notebooks/*.ipynb).
sync: $(STAMP)
	$(BIN)/jupytext --sync book/*.md

clean:
	rm -rf _build .pytest_cache
