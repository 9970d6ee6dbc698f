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

.PHONY: test book setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, the CPU build this project pins (a plain `torch` could pull a CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

book: $(STAMP)
	$(BIN)/specadv run --profile $(PROFILE) --device $(DEVICE) $(if $(DATA),--data $(DATA))

clean:
	rm -rf _build book/generated book/_static/audio
