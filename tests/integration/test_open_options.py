"""Every open option through every entry point, defined once (``OpenOptions``).

Entry points: ``open_virtual_dataset``, ``open_virtual_mfdataset``, ``open_virtual_datatree``
and the ``virtualizarr`` engine (``xr.open_dataset`` and ``xr.open_datatree``). Their
signatures must list exactly the fields of :class:`~vzcore._open_options.OpenOptions`, with
the same defaults; each option given to each entry point must reach the core; and the
decoder flags must decode loaded variables as xarray's netcdf4 engine does with the same
flags.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import numpy as np
import pytest
import xarray as xr

import vzcore
import vzcore.api
from vzcore._open_options import OpenOptions
from vzcore.xarray_backend import VirtualiZarrBackendEntrypoint

pytest.importorskip("vz_hdf5")
nc4 = pytest.importorskip("netCDF4")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A netCDF4 file where every decoder flag changes something, with a group ``g``."""
    path = tmp_path_factory.mktemp("options") / "opts.nc"
    with nc4.Dataset(path, "w") as nc:
        nc.createDimension("time", 3)
        nc.createDimension("n", 2)
        nc.createDimension("strlen", 4)
        t = nc.createVariable("time", "i4", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "noleap"
        t[:] = [0, 1, 2]
        w = nc.createVariable("wind", "i2", ("time",), fill_value=np.int16(-1))
        w.scale_factor, w.add_offset = 0.5, 1.0
        w[:] = np.ma.masked_array([2, 4, -1], mask=[False, False, True])
        lag = nc.createVariable("lag", "f8", ("time",))
        lag.units = "hours"
        lag[:] = [1.0, 2.0, 3.0]
        names = nc.createVariable("names", "S1", ("n", "strlen"))
        names[:] = nc4.stringtochar(np.array(["ab", "cdef"], dtype="S4"))
        lat = nc.createVariable("lat2d", "f4", ("n",))
        lat[:] = [10.0, 20.0]
        v = nc.createVariable("v", "f4", ("time", "n"))
        v.coordinates = "lat2d"
        v[:] = np.arange(6.0).reshape(3, 2)
        g = nc.createGroup("g")
        gv = g.createVariable("inner", "f8", ("time",))
        gv[:] = [5.0, 6.0, 7.0]
    return path


LOADED = ["time", "wind", "lag", "names", "lat2d"]

NON_DEFAULT = {
    "reader": "hdf5",
    "group": "g",
    "loadable_variables": ("time",),
    "drop_variables": ("lag",),
    "storage_options": {"auto_mkdir": False},
    "reader_options": {"hdf5": {"load_unsupported": True}},
    "mask_and_scale": False,
    "decode_times": False,
    "concat_characters": False,
    "decode_coords": False,
    "use_cftime": True,
    "decode_timedelta": True,
}

ENTRY_POINTS = {
    "open_virtual_dataset": lambda p, **kw: vzcore.open_virtual_dataset(p, **kw),
    "open_virtual_mfdataset": lambda p, **kw: vzcore.open_virtual_mfdataset(
        [p], combine="nested", concat_dim="time", **kw
    ),
    "open_virtual_datatree": lambda p, **kw: vzcore.open_virtual_datatree(p, **kw),
    "engine-dataset": lambda p, **kw: xr.open_dataset(p, engine="virtualizarr", **kw),
    "engine-datatree": lambda p, **kw: xr.open_datatree(p, engine="virtualizarr", **kw),
}


def _keyword_defaults(func) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_every_signature_lists_the_options_with_their_defaults() -> None:
    expected = {f.name: f.default for f in dataclasses.fields(OpenOptions) if f.name[0] != "_"}
    engine = VirtualiZarrBackendEntrypoint()
    for func in (
        vzcore.open_virtual_dataset,
        vzcore.open_virtual_datatree,
        engine.open_dataset,
        engine.open_datatree,
        vzcore.api.read_group,
    ):
        got = _keyword_defaults(func)
        if func is vzcore.api.read_group:  # scans only: the reader's share of the options
            assert got == {k: expected[k] for k in got}, func
            continue
        assert got == expected, func.__qualname__
    assert engine.open_dataset_parameters == ("filename_or_obj", *expected)


def _documented(doc: str) -> set[str]:
    """Names in a numpydoc Parameters section (``a, b`` lines document both)."""
    section = re.split(r"\n\w+\n-+\n", doc.split("Parameters\n----------\n", 1)[1])[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            names.update(n.strip().lstrip("*") for n in line.split(":")[0].split(","))
    return names


@pytest.mark.parametrize(
    "func",
    [
        vzcore.open_virtual_dataset,
        vzcore.open_virtual_datatree,
        vzcore.open_virtual_mfdataset,
        vzcore.api.read_group,
        VirtualiZarrBackendEntrypoint.open_dataset,
    ],
    ids=lambda f: f.__qualname__,
)
def test_every_parameter_is_documented(func) -> None:
    params = set(inspect.signature(func).parameters) - {"self", "filename_or_obj"}
    doc = inspect.getdoc(func) or ""
    if "Parameters\n" not in doc:  # the engine refers to the function it mirrors
        assert ":func:`vzcore.open_virtual_dataset`" in doc
        return
    assert params <= _documented(doc), params - _documented(doc)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("option", NON_DEFAULT)
def test_every_option_reaches_the_core(sample, monkeypatch, entry, option) -> None:
    seen: list[OpenOptions] = []
    real = vzcore.api._read

    def spy(full, opts, **kwargs):
        seen.append(opts)
        return real(full, opts, **kwargs)

    monkeypatch.setattr(vzcore.api, "_read", spy)
    value = NON_DEFAULT[option]
    if option == "use_cftime":  # deprecated by xarray in favour of CFDatetimeCoder
        with pytest.warns(FutureWarning, match="use_cftime"):
            ENTRY_POINTS[entry](sample, **{option: value})
    else:
        ENTRY_POINTS[entry](sample, **{option: value})
    (opts,) = seen
    assert getattr(opts, option) == value


def _expected(sample, **flags) -> xr.Dataset:
    with xr.open_dataset(sample, engine="netcdf4", **flags) as ds:
        return ds.load()


FLAGS = [
    {},
    {"mask_and_scale": False},
    {"decode_times": False},
    {"concat_characters": False},
    {"decode_coords": False},
    {"decode_timedelta": True},
    {"decode_timedelta": False},
    {"decode_times": xr.coders.CFDatetimeCoder(use_cftime=True)},
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: ",".join(f"{k}={v!r}" for k, v in f.items()))
def test_decoder_flags_decode_loaded_variables_as_xarray_does(sample, entry, flags) -> None:
    expected = _expected(sample, **flags)
    got = ENTRY_POINTS[entry](sample, loadable_variables=LOADED, **flags)
    if isinstance(got, xr.DataTree):
        got = got.to_dataset()
    for name in LOADED:
        a, b = got[name], expected[name]
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        assert a.dims == b.dims, name
        np.testing.assert_array_equal(a.values, b.values, err_msg=name)
        assert a.attrs == b.attrs, name
    assert set(got.coords) == set(expected.coords)


def test_use_cftime_warns_as_xarray_does_and_decodes_the_same(sample) -> None:
    with pytest.warns(FutureWarning, match="use_cftime"):
        expected = _expected(sample, use_cftime=True)
    for entry, open_ in ENTRY_POINTS.items():
        with pytest.warns(FutureWarning, match="use_cftime"):
            got = open_(sample, use_cftime=True)
        if isinstance(got, xr.DataTree):
            got = got.to_dataset()
        assert list(got["time"].values) == list(expected["time"].values), entry


def test_unknown_options_are_refused_by_every_entry_point(sample) -> None:
    for entry, open_ in ENTRY_POINTS.items():
        with pytest.raises(TypeError, match="not_an_option"):
            open_(sample, not_an_option=1)
        assert entry


def test_write_takes_format_by_keyword(tmp_path, sample) -> None:
    import fsspec

    vds = vzcore.open_virtual_dataset(sample, loadable_variables=LOADED)
    vds.virtualize.write(tmp_path / "a.json", format="kerchunk")
    vds.virtualize.write(tmp_path / "b.json", "kerchunk")
    vds.virtualize.write(tmp_path / "c.json", format="json", zarr_format=3)
    for name, zf in (("a.json", 2), ("b.json", 2), ("c.json", 3)):
        fs = fsspec.filesystem("reference", fo=str(tmp_path / name))
        got = xr.open_zarr(fs.get_mapper(""), zarr_format=zf, consolidated=False).load()
        np.testing.assert_array_equal(got["v"].values, _expected(sample)["v"].values)
