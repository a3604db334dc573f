"""``.virtualize`` stays vzcore's beside VirtualiZarr, whatever the import order.

VirtualiZarr 2.x registers ``.vz`` and a deprecated ``.virtualize`` of its own; whichever
package registered last used to own ``ds.virtualize`` (and xarray warned). Every scenario runs
in a fresh interpreter: accessor registrations must not leak between tests.

The main suite has no VirtualiZarr, so most tests put a stand-in on the subprocess's path: a
real package named ``virtualizarr`` whose ``accessor`` module registers ``.vz`` and the
deprecated ``.virtualize`` on Dataset and DataTree the way VirtualiZarr 2.8's
``virtualizarr/accessor.py`` does (the same decorators, names, class names and
DeprecationWarning), and whose ``manifests`` module holds a minimal duck array standing for
its ManifestArray. The last test runs the same checks against the real VirtualiZarr when it
is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The stand-in for VirtualiZarr 2.8 (see the module docstring).
FAKE_VIRTUALIZARR = {
    "__init__.py": """
        from virtualizarr.accessor import (  # as VirtualiZarr's __init__ does
            VirtualiZarrDatasetAccessor,
            VirtualiZarrDataTreeAccessor,
        )
        """,
    "accessor.py": """
        import warnings

        import xarray as xr

        RENAMED = "VirtualiZarr's accessor has been renamed from `virtualize` to `vz`"


        class _Accessor:
            def __init__(self, obj):
                self.obj = obj


        class _Deprecated(_Accessor):
            def __init__(self, obj):
                super().__init__(obj)
                warnings.warn(RENAMED, DeprecationWarning)


        # VirtualiZarr's four registrations: .vz and the deprecated .virtualize, on Dataset
        # and on DataTree, by classes of these names in this module
        for kind, register in (
            ("Dataset", xr.register_dataset_accessor),
            ("DataTree", xr.register_datatree_accessor),
        ):
            for name, base, prefix in (("vz", _Accessor, ""), ("virtualize", _Deprecated, "Deprecated")):
                cls_name = f"{prefix}VirtualiZarr{kind}Accessor"
                globals()[cls_name] = register(name)(type(cls_name, (base,), {}))
        """,
    "manifests.py": """
        import numpy as np


        class ManifestArray:  # a duck array xarray keeps as is, holding no values
            def __init__(self, shape, dtype):
                self.shape, self.dtype, self.ndim = shape, np.dtype(dtype), len(shape)

            def __array_function__(self, func, types, args, kwargs):
                return NotImplemented

            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                return NotImplemented
        """,
}

# Turn xarray's AccessorRegistrationWarning into an error without importing xarray first
# (``-W error::xarray.core.extensions.AccessorRegistrationWarning`` would import it at start-up).
STRICT = """
import warnings
warnings.filterwarnings("error", message="registration of accessor")
"""

# Import orders: each leaves ``open_files`` (the headline xr.open_mfdataset) to be called.
ORDERS = {
    "vzcore-then-virtualizarr": "import vzcore\nimport virtualizarr",
    "virtualizarr-then-vzcore": "import virtualizarr\nimport vzcore",
    "xarray-vzcore-virtualizarr": "import xarray\nimport vzcore\nimport virtualizarr",
    "xarray-virtualizarr-vzcore": "import xarray\nimport virtualizarr\nimport vzcore",
    "vzcore-accessor-then-virtualizarr": "import vzcore.accessor\nimport virtualizarr",
    "vzcore-then-virtualizarr.accessor": "import vzcore\nimport virtualizarr.accessor",
    "virtualizarr.accessor-then-vzcore": "import virtualizarr.accessor\nimport vzcore",
    # no ``import vzcore``: the engine imports it
    "virtualizarr-then-engine": "import virtualizarr",
    "engine-then-virtualizarr": "ds = open_files()\nimport virtualizarr",
}


def _write_files(tmp_path: Path) -> list[str]:
    h5py = pytest.importorskip("h5py")
    np = pytest.importorskip("numpy")
    paths = []
    for i in range(2):
        p = tmp_path / f"part{i}.h5"
        with h5py.File(p, "w") as f:
            t = f.create_dataset("time", data=np.arange(4 * i, 4 * i + 4, dtype="i4"))
            t.make_scale("time")
            # no zero: VirtualiZarr 2.8 declares h5py's default fill value 0 as the zarr
            # fill_value, which xarray then masks (a difference of its own, not tested here)
            v = f.create_dataset("v", data=np.arange(1, 9, dtype="f4").reshape(4, 2) + 100 * i)
            v.dims[0].attach_scale(t)
        paths.append(str(p))
    return paths


EXPECTED_V = [
    [float(1 + j + 2 * k + 100 * i) for j in range(2)] for i in range(2) for k in range(4)
]


def _fake_virtualizarr(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    package = site / "virtualizarr"
    package.mkdir(parents=True)
    for name, text in FAKE_VIRTUALIZARR.items():
        (package / name).write_text(textwrap.dedent(text))
    return site


def _run(code: str, site: Path | None) -> str:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _opener(paths: list[str]) -> str:
    return textwrap.dedent(
        f"""
        def open_files():
            import xarray as xr
            return xr.open_mfdataset({paths!r}, engine="virtualizarr", combine="by_coords")
        """
    )


def _prelude(paths: list[str], order: str) -> str:
    """Return the start of a script: warnings as errors, ``open_files()``, then ``order``."""
    return STRICT + _opener(paths) + order


def _headline(paths: list[str], order: str, out: Path, site: Path) -> str:
    """Return a script: ``order``, then the headline workflow, written and read back."""
    return _prelude(paths, order) + textwrap.dedent(
        f"""
            import fsspec
            import xarray as xr
            import virtualizarr.accessor
            from vzcore.accessor import VirtualizeDatasetAccessor, VirtualizeDataTreeAccessor
            assert virtualizarr.accessor.__file__.startswith({str(site)!r})  # the stand-in
            if "ds" not in globals():
                ds = open_files()
            assert xr.Dataset.virtualize is VirtualizeDatasetAccessor, xr.Dataset.virtualize
            assert xr.DataTree.virtualize is VirtualizeDataTreeAccessor, xr.DataTree.virtualize
            assert type(ds.virtualize) is VirtualizeDatasetAccessor, type(ds.virtualize)
            assert type(ds.vz).__module__ == "virtualizarr.accessor"  # theirs, untouched
            ds.virtualize.to_kerchunk({str(out)!r}, format="json")
            store = fsspec.filesystem("reference", fo={str(out)!r}).get_mapper("")
            back = xr.open_dataset(store, engine="zarr", zarr_format=2, consolidated=False)
            print(back["time"].values.tolist(), back["v"].values.tolist())
            """
    )


@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_virtualize_is_vzcores_in_every_import_order(tmp_path, order):
    pytest.importorskip("vz_hdf5")
    pytest.importorskip("vz_kerchunk")
    paths = _write_files(tmp_path)
    site = _fake_virtualizarr(tmp_path)
    out = _run(_headline(paths, order, tmp_path / "combined.json", site), site)
    assert out == f"{list(range(8))} {EXPECTED_V}"


def test_virtualizarr_datasets_keep_virtualizarr_accessor(tmp_path):
    """A dataset of VirtualiZarr's arrays only gets its deprecated accessor, once per dataset."""
    pytest.importorskip("vz_hdf5")
    path = _write_files(tmp_path)[0]
    code = STRICT + textwrap.dedent(
        f"""
        import warnings
        import numpy as np
        import vzcore
        import xarray as xr
        import virtualizarr.accessor as va
        from virtualizarr.manifests import ManifestArray
        from vzcore.accessor import VirtualizeDatasetAccessor, VirtualizeDataTreeAccessor

        theirs = xr.Dataset({{"v": (("x",), ManifestArray((4,), "f4"))}}, {{"x": np.arange(4)}})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            accessor = theirs.virtualize
            again = theirs.virtualize
        assert type(accessor) is va.DeprecatedVirtualiZarrDatasetAccessor, type(accessor)
        assert accessor.obj is theirs and again is accessor  # xarray caches it per dataset
        assert [w.category for w in caught] == [DeprecationWarning], caught
        assert "renamed from `virtualize` to `vz`" in str(caught[0].message)

        tree = xr.DataTree.from_dict({{"/": theirs, "/child": theirs}})
        assert type(tree.virtualize) is va.DeprecatedVirtualiZarrDataTreeAccessor

        # no ManifestArray at all: vzcore's, as before
        plain = xr.Dataset({{"v": (("x",), np.arange(4.0))}})
        assert type(plain.virtualize) is VirtualizeDatasetAccessor
        assert type(xr.DataTree(plain).virtualize) is VirtualizeDataTreeAccessor

        # any vzcore ManifestArray: vzcore's
        ours = vzcore.open_virtual_dataset({path!r}, loadable_variables=[])["v"].variable
        assert type(ours._data).__module__.startswith("vzcore."), type(ours._data)
        mixed = theirs.assign(w=(("x", "y"), ours))
        assert type(mixed.virtualize) is VirtualizeDatasetAccessor
        print("ok")
        """
    )
    assert _run(code, _fake_virtualizarr(tmp_path)) == "ok"


def test_other_clashes_still_warn(tmp_path):
    """Only VirtualiZarr's and vzcore's override of each other is silent."""
    code = textwrap.dedent(
        """
        import warnings
        import vzcore
        import xarray as xr
        from vzcore.accessor import VirtualizeDatasetAccessor

        class Other:
            def __init__(self, ds):
                pass

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            xr.register_dataset_accessor("virtualize")(Other)  # a third party replaces vzcore's
            import virtualizarr  # replaces the third party's: xarray warns as always
        names = [w.category.__name__ for w in caught]
        messages = [str(w.message) for w in caught]
        assert names == ["AccessorRegistrationWarning"] * 2, messages
        assert "Other" in messages[0] and "DeprecatedVirtualiZarrDatasetAccessor" in messages[1]
        assert xr.Dataset.virtualize is VirtualizeDatasetAccessor  # and vzcore's is back

        with warnings.catch_warnings(record=True) as caught:  # nothing left silenced
            warnings.simplefilter("always")
            xr.register_dataset_accessor("virtualize")(Other)
            xr.register_datatree_accessor("virtualize")(Other)
        assert len(caught) == 2 and all("Other" in str(w.message) for w in caught), caught
        print("ok")
        """
    )
    assert _run(code, _fake_virtualizarr(tmp_path)) == "ok"


def real_virtualizarr_script(paths: list[str], order: str, out: str) -> str:
    """Return the script :func:`test_real_virtualizarr` runs (usable without pytest)."""
    return _prelude(paths, order) + textwrap.dedent(
        f"""
            import warnings
            import fsspec
            import numpy as np
            import xarray as xr
            import virtualizarr.accessor as va
            from obspec_utils.registry import ObjectStoreRegistry
            from obstore.store import LocalStore
            from virtualizarr import open_virtual_dataset
            from virtualizarr.parsers import HDFParser
            from vzcore.accessor import VirtualizeDatasetAccessor, VirtualizeDataTreeAccessor

            assert xr.Dataset.virtualize is VirtualizeDatasetAccessor, xr.Dataset.virtualize
            assert xr.DataTree.virtualize is VirtualizeDataTreeAccessor, xr.DataTree.virtualize

            def read(refs):
                store = fsspec.filesystem("reference", fo=refs).get_mapper("")
                return xr.open_dataset(store, engine="zarr", zarr_format=2, consolidated=False)

            # vzcore's headline workflow
            if "ds" not in globals():
                ds = open_files()
            assert type(ds.virtualize) is VirtualizeDatasetAccessor, type(ds.virtualize)
            ds.virtualize.to_kerchunk({out!r}, format="json")
            mine = read({out!r})

            # VirtualiZarr's own: its deprecated accessor still serves its datasets
            registry = ObjectStoreRegistry({{"file:///": LocalStore()}})
            vds = open_virtual_dataset(
                "file://" + {paths[0]!r}, registry=registry, parser=HDFParser()
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                accessor = vds.virtualize
            assert type(accessor) is va.DeprecatedVirtualiZarrDatasetAccessor, type(accessor)
            assert vds.virtualize is accessor
            assert any(
                w.category is DeprecationWarning and "`vz`" in str(w.message) for w in caught
            ), caught
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                theirs = read(vds.virtualize.to_kerchunk(format="dict"))
            assert type(vds.vz) is va.VirtualiZarrDatasetAccessor
            print(mine["v"].values.tolist(), theirs["v"].values.tolist())
            """
    )


@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_real_virtualizarr(tmp_path, order):
    pytest.importorskip("virtualizarr")
    pytest.importorskip("obstore")
    pytest.importorskip("obspec_utils")
    pytest.importorskip("vz_hdf5")
    pytest.importorskip("vz_kerchunk")
    paths = _write_files(tmp_path)
    out = _run(real_virtualizarr_script(paths, order, str(tmp_path / "c.json")), None)
    assert out == f"{EXPECTED_V} {EXPECTED_V[:4]}"
