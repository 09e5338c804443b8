# wiring-lab: `make demo` runs the main job on the embedded digits data, `make test` the tests,
# `make docs` builds the documentation site.
# Both create .venv on first use and install the project into it.
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
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test docs bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)" $(NUMPY_PIN)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]" $(NUMPY_PIN)
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/wiring-lab demo --out report

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link or reference fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

bench: $(STAMP)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) report site
