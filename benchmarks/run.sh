#!/usr/bin/env bash
# Benchmarks run in their own environment (.venv-bench) with the peers installed beside vzcore,
# so that the unit-test environment never contains VirtualiZarr.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${VZCORE_BENCH_VENV:-.venv-bench}
if [ ! -x "$BENCH/bin/python" ]; then
  "${VZCORE_VENV:-.venv}/bin/python" -c 'import sys; print(sys.executable)' >/dev/null
  py=$("${VZCORE_VENV:-.venv}/bin/python" -c 'import sys; print(sys.base_prefix)')/bin/python3
  "$py" -m venv "$BENCH"
fi
plugins=$(for d in plugins/vz-*/; do printf -- '-e %s ' "${d%/}"; done)
# shellcheck disable=SC2086  # the plugin list is split on purpose
"$BENCH/bin/python" -m pip install --quiet --disable-pip-version-check -e . $plugins \
  virtualizarr kerchunk h5py netCDF4 h5netcdf obstore
"$BENCH/bin/python" benchmarks/manifest_memory.py "$@"
