# unmask: two commands on a fresh machine.
#   make demo  - set up and scan the bundled sample media (offline, CPU only)
#   make test  - set up and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= image,video,audio,provenance,learned,train,faces,serve,dev

.PHONY: demo test lint bench samples schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

demo: $(VENV)/.installed
	@mkdir -p out
	$(BIN)/unmask scan samples --recursive --json out/demo.jsonl --html out/demo.html --artifacts out/artifacts; \
	  rc=$$?; echo "wrote out/demo.jsonl, out/demo.html and out/artifacts/ (exit code $$rc)"; \
	  test $$rc -le 1

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks tools

bench: $(VENV)/.installed
	$(BIN)/python -m pytest -q -s -m slow --timeout=0 benchmarks

samples: $(VENV)/.installed
	$(BIN)/python tools/make_samples.py samples

schema: $(VENV)/.installed
	$(BIN)/unmask schema --out docs/report.schema.json

clean:
	rm -rf $(VENV) out .pytest_cache
