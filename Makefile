# The two commands people need: `make run` (the app on embedded defaults) and `make test`.
# Both set everything up on a fresh machine: venv, torch (CPU build) first, llama.cpp, the project, the index.
.DEFAULT_GOAL := install
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
# llama-cpp-python compiles from source: use both cores.
export CMAKE_BUILD_PARALLEL_LEVEL := 2

# llama.cpp is built for a portable x86-64 baseline (AVX, AVX2, FMA, F16C, BMI2), never for the build
# machine's own CPU: a native build on an Intel Xeon compiles AMX matrix code that crashes the server
# there (general protection fault), and machines change between sessions. Override to rebuild with
# other flags, e.g. `make install LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=ON ..."`.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF
LLAMA_VERSION := $(shell sed -n 's/^llama_cpp_python==//p' requirements.lock)
# The wheel is cached under a key of (version, flags, compiler): pip's own wheel cache is bypassed for it,
# so a wheel built elsewhere with other flags is never reused silently.
LLAMA_KEY := $(shell printf '%s|%s|%s' '$(LLAMA_VERSION)' '$(LLAMA_CMAKE_ARGS)' "$$(gcc -dumpfullversion 2>/dev/null)" | sha256sum | cut -c1-16)
WHEEL_CACHE ?= $(HOME)/.cache/genai-assistant/wheels
LLAMA_WHEELS := $(WHEEL_CACHE)/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)

.PHONY: install run index test lint eval asks bench audit browser postgres doctor clean llama-wheel screenshot

$(LLAMA_WHEELS)/.built:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	rm -rf $(LLAMA_WHEELS) && mkdir -p $(LLAMA_WHEELS)
	@echo "building llama-cpp-python $(LLAMA_VERSION) for a portable x86-64 baseline (about 6 minutes on 2 cores)…"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python \
	  "llama_cpp_python==$(LLAMA_VERSION)" -w $(LLAMA_WHEELS)
	printf '%s\n' '$(LLAMA_CMAKE_ARGS)' > $(LLAMA_WHEELS)/CMAKE_ARGS
	touch $@

llama-wheel: $(LLAMA_WHEELS)/.built

$(STAMP): pyproject.toml requirements.lock $(LLAMA_WHEELS)/.built
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q --no-cache-dir --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	cp $(LLAMA_WHEELS)/CMAKE_ARGS $(VENV)/llama-cpp-cmake-args.txt
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

index: install
	$(PY) -m assistant ingest

run: index
	$(PY) -m assistant ui

browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The README's picture (docs/screenshot.png): the real app and the configured LLM, in Chromium.
screenshot: index browser
	$(PY) -m ui.screenshot

# The conversation-store tests start their own throwaway PostgreSQL from Debian's package (never a service).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# Tests, then the eval gate: retrieval, refusal and follow-up condensation on the held-out test split vs
# evals/thresholds.json (answers with the bundled model are tested in tests/; the full answer eval is `make eval`).
test: install browser postgres
	RELIABILITY_TABLE=docs/reliability.md $(PY) -m pytest -q
	$(PY) -m assistant ingest
	$(PY) -m assistant eval --split test --no-answers --gate --out test-output/eval

lint: install
	$(PY) -m ruff check assistant ui evals tests
	$(PY) -m mypy assistant ui

# Both gold splits with answers from the bundled model, and the LlamaIndex defaults' answers on a sample of 10
# per split; the test split is gated on the answer-quality targets in evals/thresholds-answers.json. About 45 minutes on 2 cores; answers are sampled with seed 0 (LLM_SEED), so the same code gives the same answers.
eval: index
	$(PY) -m assistant eval --split all --baseline-answers 10 --out evals/results --gate --thresholds evals/thresholds-answers.json

# Retrain the learned reading of row questions (assistant/field_asks.json) on the dev split; plot in evals/results/asks.png.
asks: index
	$(PY) -m assistant.evaluation.asks

bench: index
	$(PY) -m assistant bench

# S8: pip-audit over the lock, then PyPI's project JSON for what it cannot resolve; fails on a
# known advisory. What no reachable service covers is listed as "not audited", not hidden.
audit: install
	$(PY) .ci/audit.py requirements.lock --report test-output/audit.json

doctor: install
	$(PY) -m assistant doctor

clean:
	rm -rf .data test-output
