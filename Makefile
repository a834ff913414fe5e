# genesis-lab: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install demo test check lint typecheck layers pytest browser bench lock sbom clean

# Every wheel is checked against its sha256 in requirements.lock (pip's hash-checking mode;
# --no-deps: nothing outside the lock); genesis-lab itself is built by the hash-checked
# setuptools of the lock (--no-build-isolation: no unhashed build environment is fetched).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--require-hashes --only-binary :all: --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { \
		echo "requirements.lock lacks a dependency of pyproject.toml: run make lock" >&2; exit 1; }
	touch $(STAMP)

## install: create .venv and install genesis-lab from requirements.lock (pinned, hash-checked)
install: $(STAMP)

## demo: run a real campaign against the colour-bench simulator on the embedded broker,
##       then verify its record and write its report (reports/demo/report.html)
demo: install
	$(BIN)/genesis-lab run campaigns/colour_mixing.yaml --record records/demo.sqlite
	$(BIN)/genesis-lab show records/demo.sqlite
	$(BIN)/genesis-lab verify records/demo.sqlite
	$(BIN)/genesis-lab report records/demo.sqlite --out reports/demo

## test: lint, format check, type check, layer contracts, then the whole test suite
test: lint typecheck layers pytest

## check: the developers' quick round: lint, types, layers and the tests not marked slow
##        or long (about 3 minutes here; `make test` before you push)
check: lint typecheck layers
	$(BIN)/pytest -n 4 --dist worksteal -m "not slow and not long"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

# Four workers (pytest-xdist), the longest tests first (tests/conftest.py): the ten-minute
# outage scenario waits on one while the others run the rest; worksteal, so the tests first
# handed to that worker are taken by the others instead of waiting behind it.
pytest: install browser
	$(BIN)/pytest -n 4 --dist worksteal

## browser: Debian's chromium, for the test that renders a campaign report headless (once)
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the report rendering test"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## bench: closed-loop timings, planner-vs-random, messaging and e-stop figures (benchmarks/results/)
bench: install
	$(BIN)/python benchmarks/closed_loop.py
	$(BIN)/python benchmarks/messaging.py
	$(BIN)/python benchmarks/estop_latency.py

## lock: re-pin requirements.lock (versions and sha256 of every wheel) from .venv, after a
##       dependency change in pyproject.toml or a `.venv/bin/pip install -U NAME`
#       A new .venv starts from the lock's versions (without its hashes, so that another
#       platform can re-lock the same versions); an existing one keeps what it has.
lock:
	test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && \
		sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\) .*/\1/p' requirements.lock > $(VENV)/pins.txt && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check \
			-c $(VENV)/pins.txt -e ".[dev]"; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python tools/lock.py

## sbom: CycloneDX JSON bill of materials of .venv, made offline from the installed
##       distributions' metadata, genesis-lab as its root component (dist/sbom.cdx.json)
sbom: install
	mkdir -p dist
	$(BIN)/cyclonedx-py environment --pyproject pyproject.toml --mc-type application \
		--output-reproducible --of JSON -o dist/sbom.cdx.json $(VENV)
	@echo "dist/sbom.cdx.json: CycloneDX bill of materials of $(VENV)"

clean:
	rm -rf $(VENV) records reports dist .pytest_cache .mypy_cache .ruff_cache
