#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check: ruff, mypy, pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k login).
# The scale-out configuration is chosen by the environment (see docs/deployment.md and
# .ci/run); SKIP_LINT=1 skips ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when the dependencies changed (CI runs this script twice).
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
if [ "${SKIP_LINT:-0}" != 1 ]; then
  echo "== ruff"
  ruff check src tests
  ruff format --check src tests
  echo "== mypy"
  mypy src
fi
echo "== pytest"
exec python -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"
