#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check: ruff, mypy, pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k login).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check src tests
ruff format --check src tests
echo "== mypy"
mypy src
echo "== pytest"
exec python -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"
