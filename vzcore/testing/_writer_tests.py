"""The WriterTests conformance suite: one set of tests for every writer, whatever its target."""

from __future__ import annotations

import hashlib
import inspect
import math
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from vzcore import plugins
from vzcore.errors import (
    DecodedDtypeError,
    OptionError,
    UnknownOptionError,
    VZError,
    WriteError,
)
from vzcore.group import ManifestGroup, Variable
from vzcore.testing import writer_cases as cases
from vzcore.testing._known_gaps import KnownGaps
from vzcore.testing.chunk_file import ChunkFile
from vzcore.types import Writer

__all__ = ["WriterTests", "assert_same_values", "attrs_equal", "dimension_names"]


def dimension_names(array: Any) -> tuple[str, ...] | None:
    """Return a zarr array's dimension names: v3 metadata, or v2 ``_ARRAY_DIMENSIONS``."""
    if array.metadata.zarr_format == 3:
        names = array.metadata.dimension_names
        return None if names is None else tuple(names)
    dims = array.attrs.get("_ARRAY_DIMENSIONS")
    return None if dims is None else tuple(dims)


def user_attrs(node: Any) -> dict[str, Any]:
    """Return a zarr node's attributes without xarray's ``_ARRAY_DIMENSIONS``."""
    return {k: v for k, v in node.attrs.asdict().items() if k != "_ARRAY_DIMENSIONS"}


def attrs_equal(got: Any, want: Any) -> bool:
    """Compare JSON-like values, NaN equal to NaN and ints equal to equal floats."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(attrs_equal(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(attrs_equal(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    return bool(got == want)


def assert_same_values(got: np.ndarray, want: np.ndarray, where: str) -> None:
    """Equal shape, dtype (byte order aside: zarr 3 reads v3 data in native order), bits."""
    assert got.shape == want.shape, (where, got.shape, want.shape)
    assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("="), (
        where,
        got.dtype,
        want.dtype,
    )
    native = want.astype(want.dtype.newbyteorder("="))
    got = got.astype(got.dtype.newbyteorder("="))
    if want.dtype.kind in "fc":
        # Same values and NaN where NaN (NaN payloads are not the contract).
        assert np.array_equal(got, native, equal_nan=True), (where, got, native)
    elif want.dtype.kind in "Mm":
        assert np.array_equal(got.view("i8"), native.view("i8")), (where, got, native)
    else:
        assert got.tobytes() == native.tobytes(), (where, got, native)


def _tree_state(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


class WriterTests(KnownGaps):
    """Tests every writer must pass, whatever its target (a file, a directory, a session).

    Subclasses set ``writer_name`` (and ``write_options``, passed to every ``write``) and
    implement :meth:`open_output`; writers whose target is not a local path also override
    the ``target`` and ``unwritable_target`` fixtures and :meth:`target_state`.

    Every case writes a tree whose virtual variables point into a real file of chunks
    encoded by numcodecs (:class:`~vzcore.testing.chunk_file.ChunkFile`), reads the output
    back with the format's standard client as a zarr group and compares values bit for bit
    with the originals (see :mod:`vzcore.testing.writer_cases`). ``xfail_cases`` maps a test
    name (or ``"test_name[param]"``) to a reason, for gaps a writer documents.

    Examples
    --------
    >>> class TestMyWriter(WriterTests):  # doctest: +SKIP
    ...     writer_name = "myrefs"
    ...     target_name = "refs.my"
    ...
    ...     def open_output(self, target):
    ...         return zarr.open_group(my_store(target), mode="r")
    """

    writer_name: ClassVar[str]
    """The writer's registered name."""
    write_options: ClassVar[dict[str, Any]] = {}
    """Options passed to every ``write`` call (e.g. ``{"zarr_format": 3}``)."""
    target_name: ClassVar[str] = "out"
    """File or directory name of the default path target."""
    non_finite_attributes: ClassVar[bool] = True
    """Whether NaN and infinite attribute values are stored (zarr writes them as ``NaN``,
    ``Infinity``); a format of strict JSON metadata sets False and must refuse them with a
    VZError instead (never drop or change them silently)."""
    # -- what a subclass provides ------------------------------------------------------------

    @pytest.fixture
    def target(self, tmp_path: Path) -> Any:
        """Return a new, empty target (default: the path ``tmp_path/out/<target_name>``)."""
        (tmp_path / "out").mkdir()
        return os.fspath(tmp_path / "out" / self.target_name)

    @pytest.fixture
    def unwritable_target(self, tmp_path: Path) -> Any:
        """Return a target the writer must refuse with a WriteError (default: no parent)."""
        return os.fspath(tmp_path / "no-such-directory" / "sub" / self.target_name)

    def open_output(self, target: Any) -> Any:
        """Return what was written to ``target``, opened as a ``zarr.Group`` (read-only).

        Use the output format's standard client (fsspec's ReferenceFileSystem for kerchunk
        references, the icechunk package for a repository, ...).
        """
        raise NotImplementedError("WriterTests subclasses implement open_output(target)")

    def target_state(self, target: Any) -> Any:
        """Return a comparable snapshot of what ``target`` holds (default: files, hashed)."""
        return _tree_state(Path(target))

    # -- helpers ---------------------------------------------------------------------------

    @pytest.fixture
    def chunk_file(self, tmp_path: Path) -> ChunkFile:
        """Return a file of encoded chunks for the trees of the cases."""
        (tmp_path / "src").mkdir()
        return ChunkFile(tmp_path / "src" / "chunks.bin")

    def writer(self) -> Any:
        """Return a new instance of the writer under test."""
        return plugins.get_writer(self.writer_name).load_class()()

    def write(self, group: ManifestGroup, target: Any, **options: Any) -> Any:
        """Write ``group`` with ``write_options`` plus ``options``."""
        return self.writer().write(group, target, **{**self.write_options, **options})

    def round_trip(self, group: ManifestGroup, target: Any) -> Any:
        """Write ``group`` to ``target`` and return the output opened as a zarr group."""
        self.write(group, target)
        return self.open_output(target)

    def check_values(self, out: Any, expected: dict[str, np.ndarray]) -> None:
        """Compare every ``{path: values}`` of ``expected`` with the output's arrays."""
        for path, want in expected.items():
            arr = out[path]
            got = np.asarray(arr[...])
            if got.ndim == 0:  # zarr returns 0-d arrays as numpy scalars: b"a" is an S1
                got = got.astype(arr.dtype)
            assert_same_values(got, np.asarray(want), path)

    # -- the protocol ----------------------------------------------------------------------

    def test_writer_satisfies_the_protocol(self) -> None:
        writer = self.writer()
        assert isinstance(writer, Writer)
        assert type(writer).name == self.writer_name
        assert self.writer_name in repr(writer)

    # -- values ----------------------------------------------------------------------------

    @pytest.mark.parametrize("dtype", cases.DTYPES)
    def test_every_dtype_round_trips(self, dtype: str, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.dtype_case(chunk_file, dtype)
        self.check_values(self.round_trip(group, target), expected)

    def test_scalar_arrays(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.scalar_case(chunk_file)
        self.check_values(self.round_trip(group, target), expected)

    def test_missing_chunks_read_as_the_fill_value_and_inline_chunks(
        self, chunk_file: ChunkFile, target: Any
    ) -> None:
        group, expected = cases.missing_and_inline_case(chunk_file)
        self.check_values(self.round_trip(group, target), expected)

    def test_codec_pipelines_apply_in_order(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.codecs_case(chunk_file)
        self.check_values(self.round_trip(group, target), expected)

    def test_empty_arrays(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.empty_case(chunk_file)
        self.check_values(self.round_trip(group, target), expected)

    def test_partial_last_chunks(self, chunk_file: ChunkFile, target: Any) -> None:
        rng = np.random.default_rng(5)
        values = rng.normal(size=(7, 10, 3)).astype("<f8")
        group = ManifestGroup(
            variables={
                "v": Variable(("a", "b", "c"), chunk_file.array(values, (4, 3, 2)), {}),
                "z": Variable(
                    ("a", "b", "c"), chunk_file.array(values, (5, 6, 2), ({"id": "zlib"},)), {}
                ),
            }
        )
        out = self.round_trip(group, target)
        self.check_values(out, {"v": values, "z": values})
        assert tuple(out["v"].chunks) == (4, 3, 2)

    # -- metadata --------------------------------------------------------------------------

    def test_attributes_of_every_json_type(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.attributes_case(chunk_file, self.non_finite_attributes)
        out = self.round_trip(group, target)
        for path, want in expected.items():
            got = user_attrs(out[path] if path else out)
            for key, value in want.items():
                assert key in got, (path, key)
                assert attrs_equal(got[key], value), (path, key, got[key], value)

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("-inf")]])
    def test_non_finite_attributes_are_kept_or_refused(
        self, value: Any, chunk_file: ChunkFile, target: Any
    ) -> None:
        arr = chunk_file.array(np.arange(3.0), (2,))
        group = ManifestGroup(variables={"v": Variable(("x",), arr, {"a": value})})
        if not self.non_finite_attributes:
            before = self.target_state(target)
            with pytest.raises(VZError, match=r"(?i)nan|inf"):
                self.write(group, target)
            assert self.target_state(target) == before
            return
        got = user_attrs(self.round_trip(group, target)["v"])["a"]
        assert attrs_equal(got, value), (got, value)

    def test_nested_groups(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.nested_case(chunk_file)
        out = self.round_trip(group, target)
        self.check_values(out, expected)
        assert user_attrs(out)["depth"] == 1
        assert user_attrs(out["mid"])["depth"] == 2
        assert user_attrs(out["mid/deep"])["depth"] == 3
        assert user_attrs(out["mid/deep/c"])["level"] == 3
        assert user_attrs(out["mid/empty"]) == {"empty": True}
        assert sorted(out["mid"].group_keys()) == ["deep", "empty"]
        assert sorted(out.array_keys()) == ["a", "t"]

    def test_dimension_names(self, chunk_file: ChunkFile, target: Any) -> None:
        group, _ = cases.nested_case(chunk_file)
        out = self.round_trip(group, target)
        assert dimension_names(out["a"]) == ("y", "x")
        assert dimension_names(out["t"]) == ("y",)
        assert dimension_names(out["mid/b"]) == ("k",)
        assert dimension_names(out["mid/deep/c"]) == ("z",)

    def test_non_ascii_names(self, chunk_file: ChunkFile, target: Any) -> None:
        group, expected = cases.names_case(chunk_file)
        out = self.round_trip(group, target)
        self.check_values(out, expected)
        assert dimension_names(out["température"]) == ("x axis",)
        assert dimension_names(out["Gruppe_ü/données"]) == ("βeta",)
        assert user_attrs(out["température"])["ünits"] == "°C"
        assert user_attrs(out["Gruppe_ü"])["名前"] == "グループ"

    # -- refusals and atomicity ------------------------------------------------------------

    @pytest.mark.parametrize("what", cases.UNWRITABLE)
    def test_refusals_are_vzerrors(self, what: str, chunk_file: ChunkFile, target: Any) -> None:
        group = cases.unwritable_case(chunk_file, what)
        before = self.target_state(target)
        with pytest.raises(VZError) as info:
            self.write(group, target)
        assert str(info.value)
        assert self.target_state(target) == before

    def test_float32_packing_is_refused_unless_float64_decoding_is_allowed(
        self, chunk_file: ChunkFile, target: Any
    ) -> None:
        """Float32-packed arrays are refused by name, written with the option.

        xarray would decode them to float64 from the store (float32 from their files); the
        float64-packed one is not named. With ``allow_float64_decoding=True`` raw values
        are exact and the attributes hold the float32 values exactly.
        """
        group, expected = cases.packed_case(chunk_file)
        before = self.target_state(target)
        with pytest.raises(DecodedDtypeError) as info:
            self.write(group, target)
        assert info.value.variables == ("packed_f4", "loaded_packed_f4")
        assert "allow_float64_decoding=True" in str(info.value)
        assert self.target_state(target) == before
        self.write(group, target, allow_float64_decoding=True)
        out = self.open_output(target)
        self.check_values(out, expected)
        attrs = user_attrs(out["packed_f4"])
        assert attrs["scale_factor"] == float(np.float32(0.1))
        assert attrs["add_offset"] == float(np.float32(273.15))

    def test_unwritable_target_raises_write_error(
        self, chunk_file: ChunkFile, unwritable_target: Any
    ) -> None:
        group, _ = cases.scalar_case(chunk_file)
        with pytest.raises(WriteError):
            self.write(group, unwritable_target)

    def test_existing_target_needs_mode_w(self, chunk_file: ChunkFile, target: Any) -> None:
        first, _ = cases.scalar_case(chunk_file)
        second, expected = cases.codecs_case(chunk_file)
        self.write(first, target)
        before = self.target_state(target)
        with pytest.raises(WriteError):
            self.write(second, target)
        assert self.target_state(target) == before
        self.write(second, target, mode="w")
        out = self.open_output(target)
        self.check_values(out, expected)
        assert "virtual_f8" not in out

    def test_invalid_mode_is_refused(self, chunk_file: ChunkFile, target: Any) -> None:
        group, _ = cases.scalar_case(chunk_file)
        before = self.target_state(target)
        with pytest.raises(OptionError, match=f"writer {self.writer_name!r}.*mode='append-please'"):
            self.write(group, target, mode="append-please")
        assert self.target_state(target) == before

    def test_options_are_keyword_only(self) -> None:
        """Options are keyword-only parameters with defaults, so the core can check them."""
        cls = plugins.get_writer(self.writer_name).load_class()
        params = list(inspect.signature(cls.write).parameters.values())[1:]  # self
        assert [p.kind for p in params[:2]] in (
            [params[0].POSITIONAL_ONLY] * 2,
            [params[0].POSITIONAL_OR_KEYWORD] * 2,
        ), params  # the tree and the target
        for p in params[2:]:
            assert p.kind is p.KEYWORD_ONLY, p  # no **options: the core checks the names
            assert p.default is not p.empty, p
        assert set(self.write_options) <= {p.name for p in params[2:]}

    def test_unknown_option_through_the_api_names_the_writer(
        self, chunk_file: ChunkFile, target: Any
    ) -> None:
        """``ds.virtualize.write`` refuses an unknown option before writing, with one message."""
        import xarray as xr

        import vzcore.accessor  # noqa: F401  # registers ds.virtualize

        spec = plugins.get_writer(self.writer_name)
        ds = xr.Dataset({"v": ("x", chunk_file.array(np.arange(3.0), (2,)))})
        before = self.target_state(target)
        with pytest.raises(UnknownOptionError, match="no_such_option") as info:
            ds.virtualize.write(target, self.writer_name, **self.write_options, no_such_option=1)
        assert str(info.value).startswith(f"writer {self.writer_name!r} ({spec.distribution})")
        assert info.value.unknown == ("no_such_option",)
        params = list(inspect.signature(spec.load_class().write).parameters)
        assert info.value.valid == tuple(params[3:])  # self, the tree, the target
        assert self.target_state(target) == before

    @pytest.mark.parametrize("late", [True, False], ids=["late-failure", "early-failure"])
    def test_failed_write_leaves_no_half_output(
        self, chunk_file: ChunkFile, target: Any, late: bool
    ) -> None:
        big, _ = cases.codecs_case(chunk_file)
        broken = self._broken(big, chunk_file, late)
        before = self.target_state(target)
        with pytest.raises(VZError):
            self.write(broken, target)
        assert self.target_state(target) == before

    @pytest.mark.parametrize("late", [True, False], ids=["late-failure", "early-failure"])
    def test_failed_write_leaves_the_previous_output(
        self, chunk_file: ChunkFile, target: Any, late: bool
    ) -> None:
        group, expected = cases.nested_case(chunk_file)
        self.write(group, target)
        before = self.target_state(target)
        big, _ = cases.codecs_case(chunk_file)
        with pytest.raises(VZError):
            self.write(self._broken(big, chunk_file, late), target, mode="w")
        assert self.target_state(target) == before
        self.check_values(self.open_output(target), expected)

    @staticmethod
    def _broken(group: ManifestGroup, chunk_file: ChunkFile, late: bool) -> ManifestGroup:
        """``group`` plus an unwritable part, after (``late``) or before its arrays."""
        bad_leaf = ManifestGroup(
            variables={
                "v": Variable(("x",), chunk_file.array(np.arange(3.0), (2,)), {"bad": object()})
            }
        )
        if late:
            return ManifestGroup(
                variables=dict(group.variables),
                attrs=dict(group.attrs),
                groups={"zzz": ManifestGroup(groups={"last": bad_leaf})},
            )
        return ManifestGroup(variables=dict(group.variables), attrs={"bad": object()})

    # -- real files ------------------------------------------------------------------------

    def test_real_netcdf_file_round_trips(self, tmp_path: Path, target: Any) -> None:
        """A netCDF4 sample scanned by vz-hdf5, compared with h5py's values."""
        pytest.importorskip("vz_hdf5")
        h5py = pytest.importorskip("h5py")
        from vzcore._urls import to_url
        from vzcore.testing.samples import write_sample_files

        (tmp_path / "src").mkdir(exist_ok=True)
        path = write_sample_files(tmp_path / "src", n_files=1)[0]
        group = plugins.get_reader("hdf5").load_class()().read(to_url(path))
        out = self.round_trip(group, target)
        with h5py.File(path, "r") as f:
            expected = {n: f[n][()] for n in ("temp", "counts", "wind", "elevation", "time")}
        self.check_values(out, expected)
