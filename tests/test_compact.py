"""The compact form of a dataset rebuilds it exactly, indexes included (and only those)."""

from __future__ import annotations

import pickle

import numpy as np
import xarray as xr

from vzcore._compact import CompactDataset, expand, to_compact


def _dataset(indexed: list[str]) -> xr.Dataset:
    coords = xr.Coordinates(
        {
            "time": xr.Variable(("time",), np.arange(3), {"units": "days"}, {"dtype": "i4"}),
            "lat": xr.Variable(("lat",), np.arange(4.0)),
            "label": xr.Variable(("lat",), np.array(list("abcd"))),
        },
        indexes={},
    )
    ds = xr.Dataset(
        {"v": (("time", "lat"), np.zeros((3, 4)), {"a": 1})}, coords=coords, attrs={"title": "t"}
    )
    ds.encoding["source"] = "x.nc"
    for name in indexed:
        ds = ds.set_xindex([name])
    return ds


def test_round_trip_keeps_exactly_the_indexes() -> None:
    for indexed in ([], ["time"], ["time", "lat"]):
        ds = _dataset(indexed)
        compact = pickle.loads(pickle.dumps(to_compact(ds), protocol=5))
        assert isinstance(compact, CompactDataset)
        got = expand(compact)
        xr.testing.assert_identical(got, ds)
        assert list(got.xindexes) == indexed
        assert got.encoding == ds.encoding
        assert got["time"].encoding == {"dtype": "i4"}


def test_round_trip_keeps_the_order_of_variables() -> None:
    """Coordinates before, between and after data variables come back where they were."""
    time = xr.Variable(("time",), np.arange(3))
    ds = xr.Dataset(
        {"b": (("time",), np.zeros(3)), "a": (("time",), np.ones(3))}, coords={"time": time}
    )
    for order in (["time", "b", "a"], ["b", "time", "a"], ["a", "b", "time"]):
        shuffled = ds[order]
        assert list(shuffled.variables) == order  # as a file can hold them
        got = expand(pickle.loads(pickle.dumps(to_compact(shuffled), protocol=5)))
        assert list(got.variables) == order
        xr.testing.assert_identical(got, shuffled)
