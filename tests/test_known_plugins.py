"""The core's catalogue of first-party plugins agrees with the plugins' own descriptors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from vzcore import plugins
from vzcore._known_plugins import KNOWN_READERS, KNOWN_WRITERS, suggest_reader

ROOT = Path(__file__).parents[1]
FIRST_PARTY = {
    tomllib.loads(p.read_text(encoding="utf-8"))["project"]["name"]
    for p in (ROOT / "plugins").glob("vz-*/pyproject.toml")
}


def _ours(specs):
    return [s for s in specs if s.distribution in FIRST_PARTY]


def test_every_installed_first_party_reader_is_catalogued_as_it_describes_itself() -> None:
    readers = _ours(plugins.readers())
    if not readers:
        pytest.skip("no first-party reader installed")
    for spec in readers:
        assert spec.name in KNOWN_READERS, spec.name
        known = KNOWN_READERS[spec.name]
        assert known.distribution == spec.distribution, spec.name
        assert known.magic == spec.magic, spec.name
        # extensions are kept only where they are the format's only mark
        assert known.extensions == (() if spec.magic else spec.extensions), spec.name


def test_every_installed_first_party_writer_is_catalogued() -> None:
    writers = _ours(plugins.writers())
    if not writers:
        pytest.skip("no first-party writer installed")
    for spec in writers:
        assert KNOWN_WRITERS.get(spec.name) == spec.distribution, spec.name


def test_no_catalogue_entry_outlives_its_plugin() -> None:
    installed_readers = {s.name: s.distribution for s in plugins.readers()}
    for name, known in KNOWN_READERS.items():
        assert known.distribution in FIRST_PARTY, name
        if _installed(known.distribution):
            assert installed_readers.get(name) == known.distribution, name
    installed_writers = {s.name: s.distribution for s in plugins.writers()}
    for name, dist in KNOWN_WRITERS.items():
        assert dist in FIRST_PARTY, name
        if _installed(dist):
            assert installed_writers.get(name) == dist, name


def _installed(dist: str) -> bool:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(dist)
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("block", [0, 512, 4096, 32768])
def test_hdf5_user_block_offsets_suggest_vz_hdf5(block: int) -> None:
    head = b"\0" * block + b"\x89HDF\r\n\x1a\n" + b"\0" * 8
    assert suggest_reader("file:///x.mat", head) == "vz-hdf5"
    assert suggest_reader("file:///x.mat", head[1:]) is None
