# Heemang — every step a fresh machine (Python 3.11 + pip) needs is here.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3
# uv is installed into the same Python with pip when missing, so `python -m uv` always works.
UV := $(PYTHON) -m uv
UVRUN := $(UV) run --frozen --all-packages
SERVICES := intake casework resources hotline gateway
PYTEST_ARGS ?=
# Test files run in parallel worker processes (each its own databases and brokers): most
# tests wait on brokers and databases, so three workers fit two cores. A few fault and
# consumer tests wait on timing that a saturated machine can stretch: a failure is retried
# twice (a real regression fails all three times). See NOTES.md.
PYTEST_WORKERS ?= 3

.PHONY: help bootstrap run test test-fast lint typecheck schemas bench migrate fuzz load clean

help:
	@echo "make run      - bootstrap, migrate, start the embedded broker and all five services"
	@echo "make test     - the whole suite (CI=true: PostgreSQL and the embedded broker required)"
	@echo "make lint     - ruff + mypy"
	@echo "make schemas  - regenerate docs/events (JSON Schema + AsyncAPI) from the event models"
	@echo "make bench    - benchmarks; figures in var/bench/results.json"
	@echo "make migrate  - apply every service's migrations to its database"
	@echo "make load     - city-scale mix of frontend calls for 60 s (LOAD_ARGS=--rate 250 --duration 60)"
	@echo "make fuzz     - schemathesis, full T11 run (200 examples, every phase); reports in var/fuzz"

# Install uv with pip if it is missing, then the locked environment.
bootstrap: .venv/.synced

.venv/.synced: uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen --all-packages
	@touch $@

run: bootstrap
	$(UVRUN) python -m heemang_common.devstack $(SERVICES)

migrate: bootstrap
	@for s in $(SERVICES); do $(UVRUN) heemang-$$s migrate || exit 1; done

test: bootstrap
	$(UVRUN) pytest libs services tests -n $(PYTEST_WORKERS) --dist loadfile --reruns 2 --reruns-delay 5 $(PYTEST_ARGS)

lint: bootstrap
	$(UVRUN) ruff check libs services tests bench
	$(UVRUN) mypy libs/common/src $(foreach s,$(SERVICES),services/$(s)/src)

schemas: bootstrap
	$(UVRUN) python -m heemang_common.events.schemas docs/events

bench: bootstrap
	$(UVRUN) python -m bench --workers 4 --e2e-processes $(BENCH_ARGS)

load: bootstrap
	$(UVRUN) python -m bench.load $(LOAD_ARGS)

# The full T11 run; CI runs the same test with fewer examples per operation.
fuzz: bootstrap
	HEEMANG_FUZZ_EXAMPLES=200 HEEMANG_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
		$(UVRUN) pytest tests/fuzz $(PYTEST_ARGS)

clean:
	rm -rf var .venv
