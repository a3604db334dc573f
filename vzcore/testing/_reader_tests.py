"""The ReaderTests conformance suite: one set of tests for every reader."""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from vzcore import plugins
from vzcore.errors import (
    CorruptFileError,
    SourceIsADirectoryError,
    SourceNotFoundError,
    SourcePermissionError,
    UnknownOptionError,
    VZError,
)
from vzcore.group import ManifestGroup
from vzcore.io import EMPTY_FILE, to_url
from vzcore.manifests import ManifestArray
from vzcore.manifests.loading import load_values
from vzcore.testing._known_gaps import KnownGaps
from vzcore.types import Reader

__all__ = ["ReaderTests"]


def _node(group: ManifestGroup, path: str) -> tuple[ManifestGroup, str]:
    *parents, name = path.strip("/").split("/")
    for p in parents:
        group = group.groups[p]
    return group, name


def _values(group: ManifestGroup, path: str) -> np.ndarray:
    node, name = _node(group, path)
    data = node.variables[name].data
    return load_values(data) if isinstance(data, ManifestArray) else np.asarray(data)


def _manifest_paths(group: ManifestGroup) -> set[str]:
    return {
        p
        for _, node in group.walk()
        for var in node.variables.values()
        if isinstance(var.data, ManifestArray)
        for p in var.data.manifest.paths
    }


class ReaderTests(KnownGaps):
    """Tests every reader must pass.

    Subclasses set ``reader_name`` and provide two fixtures: ``sample`` returning
    ``(path, {variable path: values read by the format's reference library})`` (see
    :mod:`vzcore.testing.samples` for one file per format; paths of variables in subgroups
    are ``"group/sub/name"``) and ``corrupt_file`` returning the path of a damaged file of
    the format, or instead of that fixture ``corrupt_length``: the sample cut to that many
    bytes is the damaged file. ``xfail_cases`` maps a test name to a reason, for gaps a
    reader documents.
    """

    reader_name: ClassVar[str]
    corrupt_length: ClassVar[int | None] = None
    """Bytes of the sample that the default ``corrupt_file`` keeps (None: no default)."""

    @pytest.fixture
    def sample(self, tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
        """Return a file of the format and its values as the reference library reads them."""
        raise NotImplementedError

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path, sample: tuple[Path, dict[str, Any]]) -> Path:
        """Return a damaged file of the format: the sample cut to ``corrupt_length`` bytes."""
        if self.corrupt_length is None:
            raise NotImplementedError("set corrupt_length or override the corrupt_file fixture")
        path = Path(sample[0])
        out = tmp_path / f"cut{path.suffix}"
        out.write_bytes(path.read_bytes()[: self.corrupt_length])
        return out

    def remote_options(self, path: Path) -> dict[str, Any]:
        """Return the reader options that reading ``path``'s copy from a server needs."""
        return {}

    def _read(self, path: Path | str, **options: Any) -> ManifestGroup:
        cls = plugins.get_reader(self.reader_name).load_class()
        url = path if isinstance(path, str) and "://" in path else to_url(path)
        return cls().read(url, **options)

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

    # -- values and metadata ---------------------------------------------------------------

    def test_shapes_dtypes_and_dimensions(self, sample: tuple[Path, dict[str, np.ndarray]]) -> None:
        path, expected = sample
        group = self._read(path)
        for name, values in expected.items():
            node, leaf = _node(group, name)
            var = node.variables[leaf]
            want = np.asarray(values)
            assert var.shape == want.shape, name
            assert len(var.dims) == want.ndim, name
            assert all(isinstance(d, str) and d for d in var.dims), (name, var.dims)
            if isinstance(var.data, ManifestArray):
                assert var.data.dtype == want.dtype, name
                assert var.data.manifest.path_index.shape == var.data.metadata.grid_shape, name

    def test_reading_twice_gives_the_same_tree(self, sample: tuple[Path, Any]) -> None:
        path, _ = sample
        first, second = self._read(path), self._read(path)
        assert [p for p, _ in first.walk()] == [p for p, _ in second.walk()]
        for (_, a), (_, b) in zip(first.walk(), second.walk(), strict=True):
            assert list(a.variables) == list(b.variables)
            for name, var in a.variables.items():
                other = b.variables[name].data
                if isinstance(var.data, ManifestArray):
                    assert isinstance(other, ManifestArray)
                    assert repr(var.data.metadata) == repr(other.metadata), name  # NaN fills
                    assert var.data.manifest == other.manifest, name

    def test_attributes_are_writable(self, sample: tuple[Path, Any]) -> None:
        """Every attribute, decoded as vzcore decodes a reader's, is one a writer can store."""
        from vzcore.manifests.attributes import json_attributes, read_attributes

        path, _ = sample
        for gpath, node in self._read(path).walk():
            json_attributes(read_attributes(node.attrs), f"group {gpath!r}")
            for name, var in node.variables.items():
                json_attributes(read_attributes(var.attrs), f"variable {name!r}")

    # -- options ---------------------------------------------------------------------------

    def test_options_are_keyword_only(self) -> None:
        """Options are keyword-only parameters with defaults, so the core can check them."""
        cls = plugins.get_reader(self.reader_name).load_class()
        params = list(inspect.signature(cls.read).parameters.values())[1:]  # self
        assert params[0].name == "url", params
        for p in params[1:]:
            assert p.kind is p.KEYWORD_ONLY, p  # no **options: the core checks the names
            assert p.default is not p.empty, p
        names = {p.name for p in params}
        assert {"group", "storage_options"} <= names, names

    def test_unknown_option_is_refused(self, sample: tuple[Path, Any]) -> None:
        path, _ = sample
        with pytest.raises((TypeError, VZError), match="no_such_option"):
            self._read(path, no_such_option=1)

    def test_unknown_option_through_the_api_names_the_reader(
        self, sample: tuple[Path, Any]
    ) -> None:
        """The core refuses an unknown reader option before reading, with one message."""
        from vzcore.api import read_group

        path, _ = sample
        spec = plugins.get_reader(self.reader_name)
        with pytest.raises(UnknownOptionError, match="no_such_option") as info:
            read_group(path, reader=self.reader_name, reader_options={"no_such_option": 1})
        assert str(info.value).startswith(f"reader {self.reader_name!r} ({spec.distribution})")
        assert info.value.unknown == ("no_such_option",)
        params = inspect.signature(spec.load_class().read).parameters
        assert set(info.value.valid) == set(params) - {
            "self",
            "url",
            "group",
            "storage_options",
            "subgroups",
        }

    def test_storage_options_are_accepted(self, sample: tuple[Path, dict[str, np.ndarray]]) -> None:
        path, expected = sample
        group = self._read(path, storage_options={})
        name = next(iter(expected))
        np.testing.assert_array_equal(_values(group, name), expected[name])

    def test_drop_variables(self, sample: tuple[Path, dict[str, np.ndarray]]) -> None:
        cls = plugins.get_reader(self.reader_name).load_class()
        if "drop_variables" not in inspect.signature(cls.read).parameters:
            pytest.skip("the reader leaves drop_variables to vzcore's core")
        path, expected = sample
        top = [n for n in expected if "/" not in n]
        dropped, kept = top[0], top[1:]
        group = self._read(path, drop_variables=[dropped])
        assert dropped not in group.variables
        for name in kept:
            np.testing.assert_array_equal(_values(group, name), expected[name], err_msg=name)

    def test_missing_group_raises_a_vzcore_error(self, sample: tuple[Path, Any]) -> None:
        path, _ = sample
        with pytest.raises(VZError, match="no_such_group"):
            self._read(path, group="no_such_group")

    # -- damaged input ---------------------------------------------------------------------

    def test_empty_file_raises_a_vzcore_error(
        self, tmp_path: Path, sample: tuple[Path, Any]
    ) -> None:
        path, _ = sample
        empty = tmp_path / ("empty" + "".join(Path(path).suffixes))
        empty.write_bytes(b"")
        with pytest.raises(VZError):
            self._read(empty)

    def test_truncated_copies_raise_only_vzcore_errors(
        self, tmp_path: Path, sample: tuple[Path, Any]
    ) -> None:
        """A cut file gives a CorruptFileError (or any VZError), never a library exception.

        A copy cut after its metadata may still read (its chunks past the end are found by
        ``vzcore.verify``); the first bytes alone never do.
        """
        path, _ = sample
        data = Path(path).read_bytes()
        suffix = "".join(Path(path).suffixes)
        cuts = sorted({4, 8, 64, 512, len(data) // 4, len(data) // 2, len(data) - 1})
        leaked = []
        for cut in (c for c in cuts if 0 < c < len(data)):
            case = tmp_path / f"cut{cut}{suffix}"
            case.write_bytes(data[:cut])
            try:
                self._read(case)
            except VZError:
                continue
            except Exception as err:  # noqa: BLE001 - the failure this test reports
                leaked.append(f"cut at {cut}: {type(err).__name__}: {err}")
            else:
                if cut <= 8:
                    leaked.append(f"cut at {cut}: read without an error")
        assert not leaked, leaked

    # -- file access: vzcore.io.open_source's one policy, the same for every reader -------

    def test_missing_file_is_source_not_found(self, tmp_path: Path) -> None:
        url = to_url(tmp_path / "does-not-exist")
        with pytest.raises(SourceNotFoundError) as info:
            self._read(url)
        assert str(info.value) == f"Cannot open {url!r}: no such file; check the path or URL"

    def test_directory_is_not_a_file(self, tmp_path: Path, sample: tuple[Path, Any]) -> None:
        path, _ = sample
        directory = tmp_path / ("directory" + "".join(Path(path).suffixes))
        directory.mkdir()
        url = to_url(directory)
        with pytest.raises(SourceIsADirectoryError) as info:
            self._read(url)
        assert str(info.value) == (
            f"Cannot open {url!r}: it is a directory, not a file; pass the path of a file"
        )

    def test_empty_file_says_it_is_empty(self, tmp_path: Path, sample: tuple[Path, Any]) -> None:
        path, _ = sample
        empty = tmp_path / ("empty" + "".join(Path(path).suffixes))
        empty.write_bytes(b"")
        with pytest.raises(CorruptFileError) as info:
            self._read(empty)
        assert str(info.value).startswith(f"Cannot read {to_url(empty)!r}: {EMPTY_FILE}")

    def test_unreadable_file_is_permission_denied(
        self, tmp_path: Path, sample: tuple[Path, Any]
    ) -> None:
        path, _ = sample
        locked = tmp_path / ("locked" + "".join(Path(path).suffixes))
        shutil.copy2(path, locked)
        locked.chmod(0)
        try:
            if os.access(locked, os.R_OK):  # root (or a capability) reads it anyway
                pytest.skip("this user reads files with mode 000 (root)")
            url = to_url(locked)
            with pytest.raises(SourcePermissionError) as info:
                self._read(url)
            assert str(info.value).startswith(f"Cannot open {url!r}: permission denied; ")
        finally:
            locked.chmod(0o600)

    def test_remote_404_and_403_are_not_found_and_forbidden(
        self, tmp_path: Path, sample: tuple[Path, Any]
    ) -> None:
        pytest.importorskip("aiohttp")
        from vzcore.testing.servers import http_server

        path, _ = sample
        root = tmp_path / "http-root"
        root.mkdir()
        name = Path(path).name
        shutil.copy2(path, root / name)
        with http_server(root, forbidden=[name]) as server:
            missing = f"{server.url}/missing-{name}"
            with pytest.raises(SourceNotFoundError) as info:
                self._read(missing, **self.remote_options(path))
            assert str(info.value) == (
                f"Cannot open {missing!r}: no such file (HTTP 404); check the path or URL"
            )
            forbidden = f"{server.url}/{name}"
            with pytest.raises(SourcePermissionError) as info2:
                self._read(forbidden, **self.remote_options(path))
            assert str(info2.value).startswith(
                f"Cannot open {forbidden!r}: permission denied (HTTP 403); "
            )

    # -- remote sources --------------------------------------------------------------------

    def test_reads_over_http(
        self, tmp_path: Path, sample: tuple[Path, dict[str, np.ndarray]]
    ) -> None:
        """The same values through a Range-honouring HTTP server, references to its URL."""
        pytest.importorskip("aiohttp")
        from vzcore.testing.servers import http_server

        path, expected = sample
        root = tmp_path / "http-root"
        root.mkdir()
        shutil.copy2(path, root / Path(path).name)
        local = _manifest_paths(self._read(path))
        with http_server(root) as server:
            url = f"{server.url}/{Path(path).name}"
            group = self._read(url, **self.remote_options(path))
            for name, values in expected.items():
                np.testing.assert_array_equal(_values(group, name), values, err_msg=name)
        if to_url(path) in local:  # the file's own chunks now point at its URL
            assert url in _manifest_paths(group)
            assert to_url(path) not in _manifest_paths(group)
