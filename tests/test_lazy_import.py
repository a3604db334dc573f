"""``import vzcore`` stays light, and ``.virtualize`` still exists in every user flow.

Each check runs in a fresh interpreter: what one test imports must not leak into another.
"""

import subprocess
import sys
import textwrap

import pytest

# Nothing heavy at ``import vzcore``: no format library, no xarray/pandas (0.4 s), no dask,
# fsspec or numcodecs. numpy is allowed: manifests are numpy arrays.
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
    "distributed",
    "scipy",
    "xarray",
    "pandas",
    "pyarrow",
    "tqdm",
]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_and_list_plugins_import_no_heavy_library():
    code = (
        "import sys, vzcore; vzcore.list_plugins(); vzcore.plugins.readers(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    assert _run(code) == "[]"


def test_public_names_resolve_lazily():
    out = _run(
        """
        import sys, vzcore
        assert "open_virtual_mfdataset" in dir(vzcore)
        assert "xarray" not in sys.modules
        f = vzcore.open_virtual_mfdataset
        assert f is vzcore.api.open_virtual_mfdataset
        print(all(callable(getattr(vzcore, n)) for n in vzcore.__all__ if n.islower()))
        """
    )
    assert out == "True"
    with pytest.raises(AssertionError, match="has no attribute 'nope'"):
        _run("import vzcore; vzcore.nope")


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import vzcore, xarray as xr", id="vzcore-first"),
        pytest.param("import xarray as xr, vzcore", id="xarray-first"),
        pytest.param(
            "import vzcore; import xarray.core.dataset; import xarray as xr", id="submodule"
        ),
    ],
)
def test_accessor_registered_whichever_is_imported_first(code):
    out = _run(
        code
        + """
import sys
from vzcore.accessor import VirtualizeDatasetAccessor, VirtualizeDataTreeAccessor
assert isinstance(xr.Dataset().virtualize, VirtualizeDatasetAccessor)
assert isinstance(xr.DataTree().virtualize, VirtualizeDataTreeAccessor)
# The one-shot xarray hook is gone and xarray looks like a normal import; the one waiting
# for VirtualiZarr's accessor module (tests/test_virtualizarr_accessor.py) stays.
hooks = [f for f in sys.meta_path if type(f).__module__ == "vzcore._accessor_hook"]
assert [f.target for f in hooks] == ["virtualizarr.accessor"], hooks
assert type(xr.__spec__.loader).__module__ != "vzcore._accessor_hook", xr.__spec__.loader
assert type(xr.__loader__).__module__ != "vzcore._accessor_hook"
print("ok")
"""
    )
    assert out == "ok"


def _write_files(tmp_path, n=2):
    h5py = pytest.importorskip("h5py")
    np = pytest.importorskip("numpy")
    paths = []
    for i in range(n):
        p = tmp_path / f"part{i}.h5"
        with h5py.File(p, "w") as f:
            t = f.create_dataset("time", data=np.arange(4 * i, 4 * i + 4, dtype="i4"))
            t.make_scale("time")
            v = f.create_dataset("v", data=np.arange(8, dtype="f4").reshape(4, 2), chunks=(2, 2))
            v.dims[0].attach_scale(t)
        paths.append(str(p))
    return paths


def test_accessor_after_open_virtual_dataset(tmp_path):
    pytest.importorskip("vz_hdf5")
    pytest.importorskip("vz_kerchunk")
    (path,) = _write_files(tmp_path, 1)
    out = _run(
        f"""
        import vzcore
        ds = vzcore.open_virtual_dataset({path!r})
        refs = ds.virtualize.to_kerchunk(format="dict")
        print(sorted(k for k in refs["refs"] if k.startswith("v/")))
        """
    )
    assert out == "['v/.zarray', 'v/.zattrs', 'v/0.0', 'v/1.0']"


def test_accessor_after_xarray_engine_without_importing_vzcore(tmp_path):
    pytest.importorskip("vz_hdf5")
    pytest.importorskip("vz_kerchunk")
    paths = _write_files(tmp_path, 2)
    out = _run(
        f"""
        import sys
        import xarray as xr
        assert "vzcore" not in sys.modules
        ds = xr.open_mfdataset({paths!r}, engine="virtualizarr", combine="by_coords",
                               data_vars="minimal", coords="minimal", compat="override",
                               join="exact")
        refs = ds.virtualize.to_kerchunk(format="dict")
        print(sorted(k for k in refs["refs"] if k.startswith("v/")))
        """
    )
    assert out == "['v/.zarray', 'v/.zattrs', 'v/0.0', 'v/1.0', 'v/2.0', 'v/3.0']"


@pytest.mark.parametrize("parallel", [False, "processes"])
def test_open_virtual_mfdataset_imports_distributed_only_for_dask(tmp_path, parallel):
    """Only ``parallel="dask"`` (or a Client) needs distributed: 0.2 s and 15 MiB otherwise."""
    import h5py

    paths = []
    for i in range(2):
        path = tmp_path / f"f{i}.nc"
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=[float(i)], maxshape=(None,), chunks=(1,))
        paths.append(str(path))
    out = _run(
        f"""
        import sys, vzcore
        ds = vzcore.open_virtual_mfdataset({paths!r}, combine="nested", concat_dim="phony_dim_0",
                                           parallel={parallel!r}, progress=False)
        assert ds.sizes["phony_dim_0"] == 2, ds
        print("distributed" in sys.modules)
        """
    )
    assert out == "False"
