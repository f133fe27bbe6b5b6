# Quick start: `make demo` and `make test`. Both build .venv/ (pinned, see requirements-venv.txt)
# on first use; no ROS installation is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Shared-memory transport for big images between processes (see README, "Transport").
export FASTDDS_DEFAULT_PROFILES_FILE ?= $(CURDIR)/config/fastdds_shm.xml
# ... and its history memory policy (buffers freed after each message; see the profile).
export RMW_FASTRTPS_USE_QOS_FROM_XML ?= 1
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export ROS_LOCALHOST_ONLY ?= 1

.PHONY: demo test venv bench clean

venv: $(STAMP)

$(STAMP): requirements-venv.txt setup.py setup.cfg
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required, found " + sys.version.split()[0])'
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-venv.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . || $(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Lint (ruff.toml), types (setup.cfg [mypy]: strict on the core), tests and the docstring examples.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest test depth_completion_ros --doctest-modules

demo: $(STAMP)
	$(VENV)/bin/depth-completion demo --out out/demo

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) out build *.egg-info
