#!/usr/bin/env bash
# Benchmarks run in their own environment (.venv-bench) with the peers installed beside vzcore,
# so that the unit-test environment never contains VirtualiZarr.
#   ./dev bench            full suite (~10-15 min on 2 cores; inputs cached in benchmarks/data)
#   ./dev bench --quick    small inputs, under 2 minutes
#   ./dev bench --only vzcore,kerchunk
# VZCORE_BENCH_VENV overrides the environment directory.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${VZCORE_BENCH_VENV:-.venv-bench}
if [ ! -x "$BENCH/bin/python" ]; then
  "${VZCORE_VENV:-.venv}/bin/python" -c 'import sys; print(sys.executable)' >/dev/null
  py=$("${VZCORE_VENV:-.venv}/bin/python" -c 'import sys; print(sys.base_prefix)')/bin/python3
  "$py" -m venv "$BENCH"
fi
plugins=$(for d in plugins/vz-*/; do [ -f "$d/pyproject.toml" ] && printf -- '-e %s ' "${d%/}"; done)
# The peers as their docs install them: VirtualiZarr with obstore, kerchunk with ujson and
# fastparquet (its Parquet writer's engine); icechunk and pyarrow for the Icechunk/Parquet
# writers of both vzcore and VirtualiZarr.
# shellcheck disable=SC2086  # the plugin list is split on purpose
"$BENCH/bin/python" -m pip install --quiet --disable-pip-version-check -e . $plugins \
  virtualizarr kerchunk h5py netCDF4 h5netcdf obstore ujson icechunk pyarrow fastparquet
"$BENCH/bin/python" benchmarks/manifest_memory.py
"$BENCH/bin/python" benchmarks/suite.py "$@"
