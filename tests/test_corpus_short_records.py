"""corpus/compare.py reads a variable shorter than its unlimited dimension as netCDF-C does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import netCDF4
import numpy as np

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_reference_pads_short_variable_with_fill_value(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("corpus_compare_short", CORPUS / "compare.py")
    assert spec is not None
    assert spec.loader is not None
    compare = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = compare
    spec.loader.exec_module(compare)
    path = tmp_path / "short.nc"
    with netCDF4.Dataset(path, "w") as d:
        d.createDimension("time", None)
        t = d.createVariable("time", "f8", ("time",), fill_value=-9.0)
        v = d.createVariable("v", "i2", ("time",), fill_value=-3)
        w = d.createVariable("w", "i2", ("time",))
        t[0:2] = [0.0, 1.0]
        v[0:1] = [5]
        w[0:4] = [1, 2, 3, 4]
    with compare.hdf5_reference(str(path)) as ref:
        assert ref.padded == {"time", "v"}
        np.testing.assert_array_equal(ref.arrays["v"](), np.array([5, -3, -3, -3], "i2"))
        np.testing.assert_array_equal(ref.arrays["time"](), [0.0, 1.0, -9.0, -9.0])
        np.testing.assert_array_equal(ref.arrays["w"](), [1, 2, 3, 4])
