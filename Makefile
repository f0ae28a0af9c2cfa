# Two commands do everything on a fresh Debian machine with Python 3.11:
#   make demo   installs the playground (its extra only, and Graphviz's dot) and runs the demo
#   make test   installs what the tests need and runs the whole suite (ruff, pytest, docs examples, the page in Chromium)
# Everything Python goes into .venv, so the system's Python stays untouched. Debian packages (Graphviz,
# Chromium, python3-venv) come from tools/apt-install, which waits while another apt holds the lock.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The extras `make install` (and so `make test`) installs; `make demo` installs the playground extra only.
EXTRAS ?= test,playground,notebooks
HYPOTHESIS_PROFILE ?= ci
# pytest's worker processes (pytest-xdist): 2 for a 2-core machine; JOBS=0 runs the suite in one process.
JOBS ?= 2
PYTEST_JOBS := $(if $(filter 0,$(JOBS)),-p no:xdist,-n $(JOBS) --dist loadgroup)

.PHONY: demo serve notebooks lab test thorough fuzz lint install install-playground install-notebooks torch dot chromium \
        docs docs-images bench clean

demo:
	@echo "make demo: trains a 2-8-8-2 tanh network on the spiral and draws what it learned into playground-out/."
	@echo "  The first time it installs the playground extra (about 25 packages, 1-3 minutes) into $(VENV)/,"
	@echo "  and Graphviz with apt-get if dot is missing; the training itself then takes under a minute."
	@$(MAKE) --no-print-directory install-playground dot
	$(PY) -m nn.playground
	@echo "again, with other flags: $(VENV)/bin/autodiff-playground --help; the live page: make serve"

# The browser playground on http://127.0.0.1:8000/ (Ctrl-C stops it).
serve: install-playground dot
	$(PY) -m nn.playground --serve

# The docs pages as Jupyter notebooks, executed, with their outputs and figures: notebooks/ (docs/hooks/notebooks.py).
notebooks: install-notebooks dot
	$(PY) docs/hooks/notebooks.py notebooks

# JupyterLab on those notebooks (made first if there are none yet).
lab: install-notebooks
	@[ -d notebooks ] || $(MAKE) --no-print-directory notebooks
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: install dot chromium
	$(VENV)/bin/ruff check .
	HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(PY) -m pytest -q $(PYTEST_JOBS)

# The slow, thorough Hypothesis profile: many more generated shapes and values per property.
thorough:
	$(MAKE) test HYPOTHESIS_PROFILE=thorough

# Thousands of random programs gradchecked (the CI run tries 80), and the playground server's soak
# run for a minute instead of 6 s: see docs/reliability.md.
fuzz: install
	HYPOTHESIS_PROFILE=thorough PLAYGROUND_SOAK_SECONDS=60 COMPILE_FUZZ_SCENARIOS=150 COMPILE_FUZZ_CALLS=30 $(PY) -m pytest -q tests/test_fuzz.py tests/test_playground_soak.py tests/test_compile_fuzz.py tests/test_compile_step_fuzz.py tests/test_compile_step_fuzz_models.py

lint: install
	$(VENV)/bin/ruff check .

docs: install
	$(VENV)/bin/mkdocs build --strict

# Redraw what the docs show: every page's figures (its examples, run in docs/) and the playground's
# screenshots (the tests marked docs_images, run with --docs-images). `make test` never writes them.
docs-images: install dot chromium
	$(PY) docs/hooks/images.py

bench: install $(VENV)/.installed-bench
	$(PY) -m benchmarks

install: $(VENV)/.installed
install-playground: $(VENV)/.installed-playground
install-notebooks: $(VENV)/.installed-notebooks

# The PyTorch cross-checks' reference: the `torch` extra's pinned CPU build (CI installs it: .ci/run).
torch: install
	$(PY) -m pip install -q -e '.[torch]'

# Debian's Python needs python3-venv before it can make a virtual environment.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); tools/apt-install python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: $(VENV)/bin/python setup.cfg pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

$(VENV)/.installed-playground: $(VENV)/bin/python setup.cfg pyproject.toml
	$(PY) -m pip install -q -e '.[playground]'
	touch $@

$(VENV)/.installed-notebooks: $(VENV)/bin/python setup.cfg pyproject.toml
	$(PY) -m pip install -q -e '.[playground,notebooks]'
	touch $@

# The benchmark's helpers: threadpoolctl names and pins the BLAS, pyinstrument profiles.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

# Graphviz's `dot` renders graphs; Debian's graphviz package has it.
dot:
	@command -v dot >/dev/null || tools/apt-install graphviz

# The browser tests drive Debian's Chromium with Playwright (which cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || tools/apt-install chromium

clean:
	rm -rf $(VENV) build *.egg-info playground-out site notebooks .hypothesis .pytest_cache
