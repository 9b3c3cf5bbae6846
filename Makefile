# `make board` and `make test` each set up .venv on first use, then run.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: board test train evaluate clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

board: $(STAMP)
	$(VENV)/bin/python board.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest

train: $(STAMP)
	$(VENV)/bin/python train.py

evaluate: $(STAMP)
	$(VENV)/bin/python evaluate.py mnist

clean:
	rm -rf $(VENV) reports runs
