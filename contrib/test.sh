#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): installs the Debian packages of
# both engines and the Python package, then runs the linters and pytest. The tests start
# dockerd, the podman service and a local registry themselves (tests/engines.py).
#
#   bash contrib/test.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash contrib/setup-engines.sh --install-only
bash contrib/install.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
