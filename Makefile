# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The exact CPU build of torch is pinned here (not in pyproject.toml, whose range stays
# loose) so that the bootstrap never pulls a multi-GB CUDA build. Override with
# `make TORCH_SPEC='torch' ...` on a GPU machine.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv test test-slow demo bench clean

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(BIN)/.installed

test: venv
	$(BIN)/python -m pytest -q

test-slow: venv
	$(BIN)/python -m pytest -q -m slow

demo: venv
	$(BIN)/vlnsim demo

bench: venv
	$(BIN)/vlnsim bench all

clean:
	rm -rf $(VENV) runs/demo
