# wiring-lab: `make demo` runs the main job on the embedded digits data, `make test` the tests,
# `make docs` builds the documentation site.
# Each creates .venv on first use and installs into it what it needs: the package alone for the
# demo, with its docs extra for the site, with every extra for the tests.
#
# graph-tool is not on PyPI. Where Debian's python3-graph-tool is installed, the venv is made
# by Debian's python with --system-site-packages (and numpy<2, which that graph-tool needs);
# elsewhere by python3, and the graph-tool backend is skipped.

SYS_GT := $(shell /usr/bin/python3 -c "import graph_tool" >/dev/null 2>&1 && echo yes)
ifeq ($(SYS_GT),yes)
PYTHON ?= /usr/bin/python3
VENV_FLAGS := --system-site-packages
NUMPY_PIN := "numpy<2"
else
PYTHON ?= python3
VENV_FLAGS :=
NUMPY_PIN :=
endif
TORCH ?= torch==2.13.0
EXTRAS ?= dev,ray,docs
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check

# What is installed is stamped by its extras: .installed-base (the package: what `make demo`
# needs), .installed-docs (`make docs`), .installed-dev,ray,docs (`make test`). A target takes the
# full set's stamp where that is installed (it holds the smaller ones), else its own; a stamp older
# than pyproject.toml installs again.
FULL := $(VENV)/.installed-$(EXTRAS)
stamp = $(if $(wildcard $(FULL)),$(FULL),$(VENV)/.installed-$(1))

.PHONY: demo test docs bench install clean
.PRECIOUS: $(VENV)/.installed-%

$(VENV)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PIP) "$(TORCH)" $(NUMPY_PIN)
	$(PIP) -e ".$(if $(filter base,$*),,[$*])" $(NUMPY_PIN)
	touch $@

install: $(FULL)

# The demo's study tasks run in parallel processes, one torch thread each (the fastest here:
# docs/performance.md); DEMO_WORKERS=1 runs them in this process.
DEMO_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
demo: $(call stamp,base)
	$(BIN)/wiring-lab demo --out report --workers $(DEMO_WORKERS)

test: $(FULL)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link or reference fails.
docs: $(call stamp,docs)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

bench: $(call stamp,base)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) report site
