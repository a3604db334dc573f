import subprocess
import sys

import pytest

CODE = """
import numpy as np, imagecodecs
from vzcore.manifests import ArrayMetadata
from vzcore.manifests.loading import decode_chunk
meta = ArrayMetadata(shape=(4,), dtype=np.dtype("<i4"), chunk_shape=(4,),
                     codecs=({"id": "imagecodecs_zlib"},))
print(decode_chunk(imagecodecs.zlib_encode(np.arange(4, dtype="<i4").tobytes()), meta).tolist())
"""


def test_imagecodecs_codecs_are_registered_on_demand():
    pytest.importorskip("imagecodecs")
    # A fresh process: nothing has registered imagecodecs' numcodecs codecs yet.
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0, 1, 2, 3]"


def test_loaded_coordinates_of_one_file_share_one_handle(tmp_path, monkeypatch):
    """The dimension coordinates of one file are read through one file handle, closed after."""
    np = pytest.importorskip("numpy")
    h5py = pytest.importorskip("h5py")
    from vz_hdf5._reader import HDF5Reader

    import vzcore._file_access as file_access
    from vzcore._to_xarray import group_to_dataset

    path = tmp_path / "coords.h5"
    with h5py.File(path, "w") as f:
        for name, n in (("t", 3), ("y", 4), ("x", 5)):
            f.create_dataset(name, data=np.arange(n, dtype="f8") * 2).make_scale(name)
        data = f.create_dataset("v", data=np.ones((3, 4, 5), "f4"), chunks=(1, 4, 5))
        for axis, name in enumerate("tyx"):
            data.dims[axis].attach_scale(f[name])
    opened: list[object] = []
    real = file_access.open_url

    def counting(url, storage_options=None):
        handle = real(url, storage_options)
        opened.append(handle)
        return handle

    group = HDF5Reader().read(path.as_uri())
    monkeypatch.setattr(file_access, "open_url", counting)
    ds = group_to_dataset(group, source=path.as_uri())  # loads t, y and x
    assert ds["x"].values.tolist() == [0, 2, 4, 6, 8]
    assert ds["t"].values.tolist() == [0, 2, 4]
    assert ds["y"].values.tolist() == [0, 2, 4, 6]
    assert len(opened) == 1, opened  # one handle for the three coordinates (three before)
    assert all(h.closed for h in opened)
