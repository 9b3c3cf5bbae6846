# `make board` and `make test` each set up .venv on first use, then run.
# .venv is made with PYTHON, or else the first of python3.11, python3.12, python3.13 and python3
# that is a Python TensorFlow supports (3.11 to 3.13); `make PYTHON=/path/to/python3.12 test`
# picks one.
SUPPORTED := 3.11 3.12 3.13
CANDIDATES := python3.11 python3.12 python3.13 python3
VENV := .venv
STAMP := $(VENV)/.installed
# pytest processes for `make test` (pytest-xdist); each test file runs whole in one of them
TEST_WORKERS ?= 2

# Exit status 0 when the interpreter in $$python is one of SUPPORTED.
IS_SUPPORTED = "$$python" -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] not in "$(SUPPORTED)".split())' 2>/dev/null

.PHONY: board test train evaluate clean

$(STAMP): pyproject.toml
	@if ! test -x $(VENV)/bin/python; then \
	  python="$(PYTHON)"; \
	  if test -n "$$python" && ! $(IS_SUPPORTED); then \
	    echo "PYTHON=$$python is not Python 3.11, 3.12 or 3.13, which TensorFlow needs" >&2; exit 1; \
	  fi; \
	  for candidate in $(CANDIDATES); do \
	    test -n "$$python" && break; \
	    python=$$candidate; $(IS_SUPPORTED) || python=; \
	  done; \
	  if test -z "$$python"; then \
	    echo "digitboard needs Python 3.11, 3.12 or 3.13 (what TensorFlow supports), and none of" \
	         "$(CANDIDATES) is one: install one, or name it: make PYTHON=/path/to/python3.12" >&2; \
	    exit 1; \
	  fi; \
	  echo "making $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

board: $(STAMP)
	$(VENV)/bin/python board.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

train: $(STAMP)
	$(VENV)/bin/python train.py

evaluate: $(STAMP)
	$(VENV)/bin/python evaluate.py mnist

clean:
	rm -rf $(VENV) reports runs
