# From a fresh clone:  `make book` builds the website, `make test` runs every test.
# Both create .venv and install requirements.txt plus course_utils (editable) first.
# Offline data: export COURSE_DATA_DIR=/path/to/mirror (on the course machines ../shared/data).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export COURSE_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: venv book book-force test test-colab test-fast sync gpu-check gpu-wheels clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## Build the website into _build/html (CPU profile without a GPU). Incremental: a chapter runs
## again only if its code cells changed, or if course_utils, the pins or the profile changed
## (tools/book_cache.py); outputs come from _build/.jupyter_cache otherwise.
book: $(STAMP)
	$(BIN)/python tools/book_cache.py
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going

## The same build with every chapter executed again (the cache cleared first).
book-force: $(STAMP)
	$(BIN)/python tools/book_cache.py --clear
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going

## Run all tests: unit tests, pairing/TOC/Colab-link checks, the book build, nbval over notebooks/.
test: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=600 --durations=15 tests notebooks

## The Colab lane: every notebook through its own set-up cell on Colab's stack (Python 3.13,
## .ci/colab/requirements.txt), a fresh runtime each; see .ci/colab/run.
test-colab: $(STAMP)
	.ci/colab/run

## On a machine with one CUDA GPU: every bench task and every chapter on the gpu profile within
## one 9-minute call; writes course_utils/results/gpu_check.json (see .ci/gpu/README.md).
## Needs no venv: the GPU machine's own python3 with torch. GPU_COMMIT names the commit under test.
gpu-check:
	python3 .ci/gpu/check.py --budget $${GPU_BUDGET:-510} $${GPU_COMMIT:+--commit $$GPU_COMMIT}

## The wheels the GPU check carries (the GPU machine reaches no registry): captum, PocketSphinx,
## eSpeak NG for Python 3.12 (about 39 MB), into .gpu-wheels/.
gpu-wheels: $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	  --platform manylinux2014_x86_64 -d .gpu-wheels captum pocketsphinx espeakng-loader

## Unit tests only (no notebooks, no book build): seconds, for quick iteration.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not book" tests

## Render notebooks/*.ipynb (what Colab opens) from book/*.md, the one source, after editing it.
sync: $(STAMP)
	$(BIN)/python _ext/colab_render.py

clean:
	rm -rf _build .pytest_cache
