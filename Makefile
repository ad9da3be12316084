PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint typecheck pytest bench readme compare-readme clean

setup: $(STAMP)

# an edited engine file re-runs the install, which compiles the engine again (setup.py);
# until then the engine runs interpreted: a compiled module never shadows newer sources
ENGINE := $(wildcard sim/engine/*.py)

$(STAMP): pyproject.toml setup.py $(ENGINE)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/capsim run configs/baseline.toml -n 8 --out runs/baseline --report --force

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks docs
	$(BIN)/ruff format --check sim tests benchmarks docs

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

readme: $(STAMP)  # re-run the README's worked example and paste its output; refresh the schemas and the metric table
	$(BIN)/python docs/readme_example.py
	$(BIN)/capsim schema > docs/capsim.schema.json
	$(BIN)/capsim schema --stress > docs/capsim-stress.schema.json
	$(BIN)/python docs/metric_table.py

compare-readme: $(STAMP)  # the README's comparison of the shipped alternatives (~10 min)
	$(BIN)/python docs/compare_example.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache sim/engine/_native build
