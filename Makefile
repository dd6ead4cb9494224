# The two commands a newcomer needs: `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install test test-slow lint bench devnet clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@# Compile the numba kernels (executor, prover, verifier) once, into their on-disk cache,
	@# before tests run in parallel and before any node would compile them on its event loop.
	$(PY) -m node.warmup
	@# ethers v6 (JavaScript) for the test that drives a node with a real Ethereum client, where
	@# npm exists; optional (without it that one test is skipped and says why).
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/js ethers@6.17.0 \
		|| echo "ethers not installed: tests/node/test_web3_ethers.py will be skipped"; fi
	@touch $(STAMP)

install: $(STAMP)

# The whole default suite (everything not marked slow), on all cores.
test: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow"

# Long-running tests: crash loops, large proofs, multi-process networks. The multi-process
# network tests (marked xdist_group("node-processes")) run one at a time in a second pass:
# xdist's loadgroup did not keep them on one worker here (two networks shared the two cores and
# their tasks expired), so they are selected by that marker and run without xdist.
test-slow: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup -m "slow and not xdist_group" || [ $$? -eq 5 ]
	$(PY) -m pytest -q -p no:xdist -m "slow and xdist_group" || [ $$? -eq 5 ]

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "# $$b"; $(PY) $$b || exit 1; done

devnet: $(STAMP)
	$(VENV)/bin/ivcnet devnet

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
