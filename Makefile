# The two commands: `make test` and `make book`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= demo
DATA ?=
DEVICE ?= auto
# test files run side by side by pytest-xdist, each file's tests (a notebook's cells) in one worker
TEST_JOBS ?= 2
# where torch's wheel comes from: the CPU build by default (PyPI's Linux wheel is the CUDA
# build, gigabytes of CUDA libraries). TORCH_INDEX= (empty): PyPI's own build (CUDA on
# Linux); a CUDA index of pytorch.org's for another CUDA version. A machine that cannot
# reach it falls back, after a few warnings, to the wheels pip otherwise finds.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: test book setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, from TORCH_INDEX; every version as the book is built (constraints.txt)
	$(BIN)/pip install -q -c constraints.txt torch $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

book: $(STAMP)
	$(BIN)/specadv run --profile $(PROFILE) --device $(DEVICE) $(if $(DATA),--data $(DATA))

clean:
	rm -rf _build book/generated book/_static/audio
