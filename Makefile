# Quick start: `make demo` (train on the built-in digits, a few minutes on a laptop CPU) and `make test`.
# Both create or refresh .venv and install what they need; nothing else is required but Python >= 3.10.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned in the install step so pip takes the local CPU wheel (an unpinned torch pulls CUDA).
TORCH  ?= torch==2.13.0
DEMO_STEPS ?= 4000

.PHONY: demo test venv bench clean

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@out=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/fewgan train image --data digits --out $$out --steps $(DEMO_STEPS) && \
	$(BIN)/fewgan sample $$out -n 64 --out $$out/grid.png && \
	$(BIN)/fewgan info $$out && \
	echo "look at $$out/grid.png (samples), $$out/samples/ (progress) and $$out/losses.png"

# Two pytest workers, one torch thread each (tests/conftest.py): both cores busy, none oversubscribed.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
