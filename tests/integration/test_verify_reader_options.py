"""``vzcore.verify`` never ignores ``reader_options`` or ``reader``.

They are options of reading a path; a dataset, DataTree or ManifestGroup was read already,
so verify refuses them there (a TypeError saying where they belong) instead of dropping
them silently (e.g. an allow-list the caller meant to apply).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
vz_kerchunk = pytest.importorskip("vz_kerchunk")
pytest.importorskip("xarray")

import vzcore
from vzcore.api import read_group


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=np.arange(8, dtype="f8") / 2, chunks=(2,))
    return path


@pytest.mark.parametrize("kind", ["Dataset", "DataTree", "ManifestGroup"])
@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"reader_options": {"allowed_prefixes": ["s3://elsewhere/"]}}, "reader_options"),
        ({"reader_options": {}}, "reader_options"),
        ({"reader": "kerchunk"}, "reader"),
        ({"reader": "hdf5", "reader_options": {"kerchunk": {}}}, "reader and reader_options"),
    ],
)
def test_read_targets_refuse_reading_options(tmp_path, kind, given, named):
    data = _data(tmp_path)
    target = {
        "Dataset": lambda: vzcore.open_virtual_dataset(data),
        "DataTree": lambda: vzcore.open_virtual_datatree(data),
        "ManifestGroup": lambda: read_group(data),
    }[kind]()
    with pytest.raises(TypeError, match=rf"verify\(\) got {named} for a {kind}, which was read"):
        vzcore.verify(target, deep=True, **given)
    report = vzcore.verify(target, deep=True)  # without them: verified
    assert report.ok, str(report)
    assert report.chunks_decoded == 4


def test_a_path_still_takes_them(tmp_path):
    data = _data(tmp_path)
    refs = tmp_path / "refs" / "a.json"
    refs.parent.mkdir()
    vzcore.open_virtual_dataset(data).virtualize.to_kerchunk(str(refs), format="json")
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError):
        vzcore.verify(refs, reader_options={"allowed_prefixes": ["s3://elsewhere/"]})
    report = vzcore.verify(refs, reader="kerchunk", reader_options={}, deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 4


def test_other_targets_are_refused_as_before(tmp_path):
    with pytest.raises(TypeError, match=r"takes a virtual xarray Dataset .* got int"):
        vzcore.verify(3, reader_options={})
