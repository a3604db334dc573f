"""The ReaderTests conformance suite: one set of tests for every reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from vzcore import plugins
from vzcore._urls import to_url
from vzcore.errors import VZError
from vzcore.group import ManifestGroup
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.types import Reader

__all__ = ["ReaderTests"]


def _values(group: ManifestGroup, name: str) -> np.ndarray:
    data = group.variables[name].data
    return load_values(data) if isinstance(data, ManifestArray) else np.asarray(data)


class ReaderTests:
    """Tests every reader must pass.

    Subclasses set ``reader_name`` and provide two fixtures: ``sample`` returning
    ``(path, {variable: values read by the format's reference library})`` and
    ``corrupt_file`` returning the path of a damaged file of the format.
    """

    reader_name: ClassVar[str]

    @pytest.fixture
    def sample(self, tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
        """Return a file of the format and its values as the reference library reads them."""
        raise NotImplementedError

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path) -> Path:
        """Return a damaged file of the format."""
        raise NotImplementedError

    def _read(self, path: Path) -> ManifestGroup:
        cls = plugins.get_reader(self.reader_name).load_class()
        return cls().read(to_url(path))

    def test_reader_is_registered_and_satisfies_the_protocol(self) -> None:
        cls = plugins.get_reader(self.reader_name).load_class()
        assert isinstance(cls(), Reader)
        assert cls.name == self.reader_name

    def test_magic_bytes_pick_this_reader(self, sample: tuple[Path, dict[str, Any]]) -> None:
        path, _ = sample
        head = Path(path).read_bytes()[: plugins.head_size()]
        assert plugins.find_reader(to_url(path), head).name == self.reader_name

    def test_values_equal_the_reference_library(
        self, sample: tuple[Path, dict[str, np.ndarray]]
    ) -> None:
        path, expected = sample
        group = self._read(path)
        for name, values in expected.items():
            got = _values(group, name)
            assert got.dtype == np.asarray(values).dtype, name
            np.testing.assert_array_equal(got, values, err_msg=name)

    def test_paths_are_absolute_urls(self, sample: tuple[Path, dict[str, Any]]) -> None:
        path, _ = sample
        for _, node in self._read(path).walk():
            for var in node.variables.values():
                if isinstance(var.data, ManifestArray):
                    for p in var.data.manifest.paths:
                        assert "://" in p, p
                        assert p == to_url(p), p

    def test_corrupt_file_raises_a_vzcore_error(self, corrupt_file: Path) -> None:
        with pytest.raises(VZError):
            self._read(corrupt_file)

    def test_missing_file_raises(self, tmp_path: Path) -> None:
        with pytest.raises((VZError, FileNotFoundError)):
            self._read(tmp_path / "does-not-exist")
