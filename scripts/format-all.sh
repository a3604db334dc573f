#!/usr/bin/env bash
# One-time formatting of the whole tree with ruff format, for the lead after merging the branches
# that were kept unformatted to avoid conflicts. Afterwards enable the `ruff format --check` line
# in ./dev test (marked TODO(lead)) and delete this script.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VZCORE_VENV:-.venv}
"$VENV/bin/ruff" format .
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "formatted; now enable 'ruff format --check .' in ./dev test and commit"
