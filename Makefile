# The project's commands. Everything runs from a fresh clone with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)

START ?= 2023-01-01
END ?= 2024-07-01
UNIT ?= H35.112
PERIOD ?= 2024-H1
KIND ?= statutory

.PHONY: demo run report form-06 airflow test test-system system-deps lint bench install lock clean

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

## make report UNIT=H35.112 PERIOD=2024-H1: the unit report (HTML and PDF) from the warehouse make demo filled
report: $(STAMP)
	$(BIN)/python -m tthc.devstack report --unit $(UNIT) --period $(PERIOD)

## make form-06 UNIT=H35.112 PERIOD=2024-Q2 KIND=statutory|calendar: form 06/VPCP/KSTT as an Excel
## workbook from the warehouse make demo filled
form-06: $(STAMP)
	$(BIN)/python -m tthc.devstack form-06 --unit $(UNIT) --period $(PERIOD) --kind $(KIND)

## make airflow: Airflow (standalone) with the project's DAGs, UI on http://localhost:8080
airflow: $(STAMP)
	$(BIN)/python -m tthc.devstack airflow

## make test: the whole suite, integration tests included, against a real PostgreSQL
test: lint system-deps
	$(BIN)/pytest

## make test-system: the real Airflow services (api-server, scheduler, dag-processor, triggerer,
## Celery worker on Redis) as processes, the pipeline through the REST API, the UI in Chromium
test-system: $(STAMP) system-deps
	mkdir -p output/screenshots
	$(BIN)/pytest tests/system -m system -p no:cacheprovider --timeout=900 -rA

# Debian packages the tests need beyond Python: Pango and a font for the report's PDF, Chromium for
# the browser test. Installed only when missing (needs root and Debian's package registry).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium chromium-driver
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## make lint: ruff (rules, Airflow's AIR3, the DAG files' banned imports) and its formatter, the
## package's layers (import-linter), sqlfluff on include/sql
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/sqlfluff lint include/sql

## make bench: the benchmarks, figures printed and written to bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench

lock: $(STAMP)
	$(BIN)/pip install --quiet -r requirements.in
	{ echo "# Full lock of the project's environment (Python 3.11). Airflow's constraint files are unreachable"; \
	  echo "# here, so this file is the lock: regenerate with 'make lock' after changing requirements.in."; \
	  $(BIN)/pip freeze --exclude-editable; } > requirements.txt

clean:
	rm -rf .airflow .pytest_cache
