"""Issue 12, item 6: a user's own references verify wherever they sit relative to the data.

The kerchunk reader refuses, by default, references that point outside their own
directory (it would hand their data to the caller). ``vzcore.verify`` hands out no data:
it stats the files and decodes the byte ranges it checks, so it follows every reference,
unless the caller gives an allow-list of their own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vz_hdf5")
vz_kerchunk = pytest.importorskip("vz_kerchunk")
nc4 = pytest.importorskip("netCDF4")

import vzcore


def _layout(tmp_path: Path, fmt: str = "json") -> tuple[Path, Path]:
    data = tmp_path / "data" / "a.nc"
    data.parent.mkdir()
    with nc4.Dataset(data, "w") as ds:
        ds.createDimension("x", 8)
        ds.createVariable("v", "i4", ("x",), chunksizes=(2,))[:] = np.arange(8)
    refs = tmp_path / "refs" / ("a.json" if fmt == "json" else "a.parq")
    refs.parent.mkdir()
    vzcore.open_virtual_dataset(data).virtualize.to_kerchunk(str(refs), format=fmt)
    return data, refs


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_references_in_another_directory_verify(tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("vz_parquet")
    data, refs = _layout(tmp_path, fmt)
    report = vzcore.verify(str(refs))
    assert report.ok, str(report)
    assert report.files_checked == 1
    report = vzcore.verify(refs, deep=True)
    assert report.ok, str(report)
    assert report.chunks_decoded == 4
    # verify still reports what changed
    with open(data, "ab") as f:
        f.write(b"\0" * 10)
    report = vzcore.verify(str(refs))
    assert not report.ok
    assert len(report.stale) == 1


def test_opening_foreign_references_is_still_guarded(tmp_path: Path) -> None:
    _, refs = _layout(tmp_path)
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError):
        vzcore.open_virtual_dataset(str(refs))


def test_verify_applies_an_allow_list_the_caller_gives(tmp_path: Path) -> None:
    data, refs = _layout(tmp_path)
    with pytest.raises(vz_kerchunk.ReferenceNotAllowedError):
        vzcore.verify(str(refs), reader_options={"allowed_prefixes": ["s3://elsewhere/"]})
    report = vzcore.verify(
        str(refs), reader_options={"allowed_prefixes": [data.parent.as_uri() + "/"]}
    )
    assert report.ok, str(report)


def test_any_url_prefix_in_the_policy() -> None:
    from vz_kerchunk._safety import ANY_URL, UrlPolicy

    policy = UrlPolicy.build("file:///refs/a.json", allowed_prefixes=[ANY_URL])
    assert policy.refusal("file:///etc/passwd") is None
    assert policy.refusal("http://127.0.0.1/x") is None
    default = UrlPolicy.build("file:///refs/a.json")
    assert default.refusal("file:///etc/passwd") is not None
