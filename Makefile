# The project's commands. Everything runs from a fresh clone with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)

START ?= 2023-01-01
END ?= 2024-07-01

.PHONY: demo run airflow test test-fast lint bench install lock clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

## make demo: the whole pipeline for 2023-01-01 .. 2024-07-01 and the districts' headline table
demo: $(STAMP)
	$(BIN)/python -m tthc.devstack run --start 2023-01-01 --end 2024-07-01 --headline

## make run START=YYYY-MM-DD END=YYYY-MM-DD: the whole pipeline for that window
run: $(STAMP)
	$(BIN)/python -m tthc.devstack run --start $(START) --end $(END)

## make airflow: Airflow (standalone) with the project's DAGs, UI on http://localhost:8080
airflow: $(STAMP)
	$(BIN)/python -m tthc.devstack airflow

## make test: the whole suite, integration tests included, against a real PostgreSQL
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## make bench: the benchmarks, figures printed and written to bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench

lock: $(STAMP)
	$(BIN)/pip install --quiet -r requirements.in
	$(BIN)/pip freeze --exclude-editable > requirements.txt

clean:
	rm -rf .airflow .pytest_cache
