"""The reader's per-process caches of decodes keep learning after they reach their bound."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import vzcore

from vz_hdf5 import _attrs, _gheap, _header_attrs, _header_dataset
from vz_hdf5._kept import KEPT_ENTRIES, make_room


def test_make_room_empties_a_full_cache_only() -> None:
    cache = {i: i for i in range(KEPT_ENTRIES - 1)}
    make_room(cache)
    assert len(cache) == KEPT_ENTRIES - 1
    cache[-1] = -1
    make_room(cache)
    assert cache == {}
    kept = set(range(KEPT_ENTRIES))
    make_room(kept)
    assert kept == set()


def _write(path: Path, history: str) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["history"] = history
        d = f.create_dataset("x", data=np.arange(6.0), chunks=(3,))
        d.attrs["units"] = "K"
        d.attrs["scale"] = np.float32(2.5)


def test_full_caches_learn_the_next_files_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.h5", tmp_path / "b.h5"
    _write(first, "one")
    _write(second, "two")
    expected = vzcore.open_virtual_dataset(second, loadable_variables=[])
    # every cache full of entries that never recur (a long run's per-file values)
    junk = {bytes([i % 256, i // 256, 0, 1]): (b"", "", None) for i in range(KEPT_ENTRIES)}
    for kept in _header_attrs._ATTRIBUTES.values():
        kept.clear()
        kept.update(junk)
    monkeypatch.setattr(
        _header_dataset, "_DECODED", {("junk", i): None for i in range(KEPT_ENTRIES)}
    )
    monkeypatch.setattr(_gheap, "_NO_HEAP_REFERENCES", set(junk))
    monkeypatch.setattr(_attrs, "_CONVERTED", {-i: (None, None, None) for i in range(KEPT_ENTRIES)})
    monkeypatch.setattr(_header_attrs, "_REPLAYS", {})

    got = vzcore.open_virtual_dataset(first, loadable_variables=[])
    assert got.attrs["history"] == "one"
    # the caches were emptied and hold this file's messages now
    assert not any(key in junk for kept in _header_attrs._ATTRIBUTES.values() for key in kept)
    assert any(kept for kept in _header_attrs._ATTRIBUTES.values())
    assert _header_dataset._DECODED
    assert ("junk", 0) not in _header_dataset._DECODED
    assert _gheap._NO_HEAP_REFERENCES
    assert not _gheap._NO_HEAP_REFERENCES & set(junk)
    # the next file reads as it did with nothing cached, its repeated messages' values
    # converted once more and kept (a cached decode's values are converted only then)
    again = vzcore.open_virtual_dataset(second, loadable_variables=[])
    assert _attrs._CONVERTED
    assert all(key >= 0 for key in _attrs._CONVERTED)
    assert again.attrs == expected.attrs
    assert again.virtualize.to_kerchunk(format="dict") == expected.virtualize.to_kerchunk(
        format="dict"
    )
    assert again["x"].attrs == expected["x"].attrs
    assert type(again["x"].attrs["scale"]) is type(expected["x"].attrs["scale"])
