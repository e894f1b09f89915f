# The two commands a newcomer needs:  make run   and   make test
# Both set up .venv first (quick when nothing changed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-done
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-fast browser bench-setup soak index tune fit train-verifier generality clean

setup: $(STAMP)

# torch is installed first and alone: `torch==2.13.0` resolves to the CPU build
# on this machine's disk, and then nothing else can pull a CUDA build.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Build the bundled corpus's index if it is missing or stale, then start the web chat and API.
run: setup
	$(BIN)/policyqa build
	$(BIN)/policyqa serve

test: setup browser
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium (a test tool's own browser download fails offline).
browser:
	@command -v chromium >/dev/null || (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium))

test-fast: setup
	$(BIN)/python -m pytest -q -m "not e2e and not faults"

soak: setup
	$(BIN)/python benchmarks/soak.py --minutes 10

index: setup
	$(BIN)/policyqa build

# The packages benchmarks/alternative.py compares against (LangChain FAISS store, rank-bm25).
bench-setup: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r benchmarks/requirements.txt

tune: setup
	$(BIN)/python benchmarks/tune_retrieval.py

# Refit the answer models (assistant/data/answer_model.json) on the tune splits of the seeds and
# ../shared/bench; then judge the change on every corpus's heldout split.
fit: setup
	$(BIN)/python benchmarks/fit_answers.py

# Train the answer verifier (assistant/data/verifier.onnx, a cross-encoder from the bundled MiniLM)
# and refit the models that read it: about half an hour on two cores.
train-verifier: setup
	$(BIN)/python benchmarks/fit_answers.py --train-verifier

generality: setup
	$(BIN)/python benchmarks/generality.py

clean:
	rm -rf index .pytest_cache
