# Two commands do everything on a fresh Debian machine with Python 3.11:
#   make demo   installs what is needed (Graphviz's dot included) and runs the demo
#   make test   installs what is needed and runs the whole suite (ruff, pytest, docs examples, the page in Chromium)
# Everything Python goes into .venv, so the system's Python stays untouched.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EXTRAS ?= test,playground
HYPOTHESIS_PROFILE ?= ci

.PHONY: demo serve notebooks test thorough fuzz lint install dot chromium bench docs clean

demo: install dot
	$(PY) -m nn.playground
	@echo "again, with other flags: $(VENV)/bin/autodiff-playground --help; the live page: make serve"

# The browser playground on http://127.0.0.1:8000/ (Ctrl-C stops it).
serve: install dot
	$(PY) -m nn.playground --serve

# The docs pages as Jupyter notebooks (made from the pages by jupytext, never kept twice): notebooks/.
notebooks: install
	$(PY) docs/hooks/examples.py notebooks

test: install dot chromium
	$(VENV)/bin/ruff check .
	HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(PY) -m pytest -q

# The slow, thorough Hypothesis profile: many more generated shapes and values per property.
thorough:
	$(MAKE) test HYPOTHESIS_PROFILE=thorough

# Thousands of random programs gradchecked (the CI run tries 80), and the playground server's soak
# run for a minute instead of 6 s: see docs/reliability.md.
fuzz: install
	HYPOTHESIS_PROFILE=thorough PLAYGROUND_SOAK_SECONDS=60 COMPILE_FUZZ_SCENARIOS=150 COMPILE_FUZZ_CALLS=30 $(PY) -m pytest -q tests/test_fuzz.py tests/test_playground_soak.py tests/test_compile_fuzz.py

lint: install
	$(VENV)/bin/ruff check .

docs: install
	$(VENV)/bin/mkdocs build --strict

bench: install $(VENV)/.installed-bench
	$(PY) -m benchmarks

install: $(VENV)/.installed

# Debian's Python needs python3-venv before it can make a virtual environment.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: $(VENV)/bin/python setup.cfg pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

# The benchmark's helpers: threadpoolctl names and pins the BLAS, pyinstrument profiles.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

# Graphviz's `dot` renders graphs; Debian's graphviz package has it.
dot:
	@command -v dot >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q graphviz; }

# The browser tests drive Debian's Chromium with Playwright (which cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

clean:
	rm -rf $(VENV) build *.egg-info playground-out site notebooks .hypothesis .pytest_cache
