# genesis-lab: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install demo test lint typecheck layers pytest browser bench lock clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -e ".[dev]"
	touch $(STAMP)

## install: create .venv and install genesis-lab with the pinned versions of constraints.txt
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

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

pytest: install browser
	$(BIN)/pytest

## browser: Debian's chromium, for the test that renders a campaign report headless (once)
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the report rendering test"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## bench: closed-loop timings, planner-vs-random and messaging figures (benchmarks/results/)
bench: install
	$(BIN)/python benchmarks/closed_loop.py
	$(BIN)/python benchmarks/messaging.py

## lock: re-pin constraints.txt from what is installed in .venv (after changing dependencies)
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^genesis-lab' > constraints.txt

clean:
	rm -rf $(VENV) records reports .pytest_cache .mypy_cache .ruff_cache
