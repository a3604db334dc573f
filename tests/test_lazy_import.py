"""``import vzcore`` and plugin listing must not import any format library."""

import subprocess
import sys

# pyarrow is absent from the list: pandas 3 (imported by xarray) imports it when installed.
HEAVY = [
    "h5py",
    "netCDF4",
    "tifffile",
    "kerchunk",
    "zarr",
    "icechunk",
    "imagecodecs",
    "fsspec",
    "numcodecs",
    "dask",
    "scipy",
]


def test_import_and_list_plugins_import_no_format_library():
    code = (
        "import sys, vzcore; vzcore.list_plugins(); vzcore.plugins.readers(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
