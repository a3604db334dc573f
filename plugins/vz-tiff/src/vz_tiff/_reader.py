"""The TIFF reader: tifffile's parsing of pages and series, turned into chunk manifests.

One *series* (tifffile's grouping of pages into an n-d array: a plain page, a stack of
pages, a shaped/ImageJ/OME hyperstack) becomes one array; each strip or tile of each page
is one chunk, referenced where it lies in the file. Nothing is decoded at scan time, with
one exception (see *Short last strips*).

Layout of the tree:

* the root holds the first series, as variable ``band_data`` (``variable_name=``), at full
  resolution;
* its reduced-resolution levels (COG overviews, SubIFD pyramids) are child groups
  ``overview_1``, ``overview_2``, ... whose dimensions that differ in size from level 0 get
  the level as suffix (``y1``, ``x1``: tifffile's convention; xarray's DataTree needs
  distinct names for differently sized dimensions);
* further series (e.g. a mask, a thumbnail, images of other shapes) are child groups
  ``series_1``, ``series_2``, ..., each with its own ``overview_<n>`` children. A DataTree
  needs a child's dimension to have the size (and loaded coordinate values) of the root's
  dimension of that name, so a dimension of series ``i`` that differs from the root's
  gets the suffix ``_series<i>`` (``y_series1``, ``x1_series1`` in its overviews); one that
  equals it (a mask of the data's size on the same grid) keeps the root's name. The names
  are the same when a series is opened alone (``group="series_1"``).
  ``open_virtual_dataset`` gives the root, i.e. series 0; ``open_virtual_datatree`` all.

Dimension names come from tifffile's axes codes: ``Y`` -> ``y``, ``X`` -> ``x``, ``S``
(samples) -> ``band``, the others by tifffile's axis names (``T`` -> ``time``, ``Z`` ->
``depth``, ``C`` -> ``channel``, ``I`` -> ``sequence``, ``Q`` -> ``other``, ...); a
repeated name gets ``_2``, ``_3``. So a single-band image is ``("y", "x")``, a planar
(separate) multi-band image ``("band", "y", "x")`` like rioxarray, and a pixel-interleaved
(contig) RGB image ``("y", "x", "band")``: its samples are interleaved on disk, and a
virtual array cannot be transposed.

Short last strips: TIFF's last strip is shorter when the image height is not a multiple
of RowsPerStrip, while zarr stores edge chunks full size and fails on a chunk that decodes
short. Uncompressed strips are therefore split into chunks of ``gcd(RowsPerStrip,
height)`` rows, all referenced exactly. A compressed short strip (lossless compressions
only) is read, decompressed, padded with zeros to the full chunk and compressed again into
an inline chunk (``short_strips="inline"``, the default: one strip read per page); with
``short_strips="error"``, or for lossy image compressions, it raises
:class:`~vzcore.errors.UnsupportedFeatureError`.
"""

from __future__ import annotations

import json
import math
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import tifffile
from vzcore.errors import (
    CorruptFileError,
    GroupNotFoundError,
    OptionError,
    UnsupportedFeatureError,
    UnsupportedPartsError,
    VZError,
    VZSkippedPartsWarning,
)
from vzcore.group import ManifestGroup, Variable
from vzcore.manifests import ArrayMetadata, ChunkManifest, ManifestArray
from vzcore.types import Reader

from vz_tiff._codecs import (
    CCITT,
    ccitt_compression,
    compression_codec,
    jpeg_frame,
    predictor_codec,
    register_codecs,
)
from vz_tiff._geo import GeoInfo, band_attrs, coordinate_attrs, parse_geo, spatial_ref_attrs

if TYPE_CHECKING:
    from vzcore.manifests import CodecConfig

    from vz_tiff._codecs import Compression

__all__ = ["TiffReader"]

register_codecs()

_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_SHORT_STRIPS = ("inline", "error")
_DIM_NAMES = {"Y": "y", "X": "x", "S": "band"}
_OVERVIEW = "overview_"
_SERIES = "series_"
_MISSING = ChunkManifest.MISSING
_INLINE = ChunkManifest.INLINE


def _dim_names(axes: str) -> tuple[str, ...]:
    """Map tifffile axes codes to unique dimension names."""
    known = tifffile.TIFF.AXES_NAMES
    names: list[str] = []
    for code in axes:
        base = _DIM_NAMES.get(code) or known.get(code, code.lower())
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return tuple(names)


@dataclass
class _File:
    """An open TIFF file and what manifests need to know about it."""

    url: str
    tif: tifffile.TiffFile
    size: int | None
    local: bool


@contextmanager
def _open(url: str, storage_options: dict[str, Any] | None) -> Iterator[_File]:
    from vzcore.io import open_source

    # vzcore's opener: a missing, forbidden or empty file is reported the same for every
    # reader; remote files get a block cache sized for object storage (counted reads).
    with open_source(url, storage_options) as source:
        try:
            tif = tifffile.TiffFile(source.file if source.local_path is None else source.local_path)
        except tifffile.TiffFileError as err:
            raise CorruptFileError(url, f"tifffile cannot parse it ({err})") from err
        except (OSError, ValueError, EOFError, IndexError, KeyError, struct.error) as err:
            raise CorruptFileError(url, f"{type(err).__name__}: {err}") from err
        try:
            yield _File(url, tif, source.size, source.local_path is not None)
        finally:
            tif.close()


@dataclass(frozen=True)
class _Layout:
    """How the segments (strips/tiles) of one page map onto a 5-d chunk grid.

    The 5 axes are tifffile's ``shaped`` ones: separate samples, depth, length, width,
    contiguous samples.
    """

    shaped: tuple[int, int, int, int, int]
    chunk: tuple[int, int, int, int, int]
    grid: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class _Segments:
    """Where the strips/tiles of a series lie: arrays of shape ``(pages, *grid)``."""

    offsets: np.ndarray
    counts: np.ndarray
    missing: np.ndarray
    """True where a segment is absent (offset or byte count 0, or page missing)."""
    path_index: np.ndarray
    """The file of each segment in the manifest's path table."""


class TiffReader(Reader):
    """Reads TIFF, BigTIFF, GeoTIFF and COG files into a ManifestGroup.

    Options of :meth:`read` (pass them as ``reader_options=`` through vzcore):

    ``variable_name``
        Name of the image variable in every group (default ``"band_data"``, rioxarray's).
    ``short_strips``
        ``"inline"`` (default) or ``"error"``: what to do with a compressed last strip that
        is shorter than the others (see the module documentation).
    ``overviews``
        Include reduced-resolution levels as ``overview_<n>`` groups (default True).
    ``skip_unsupported``
        Leave out every image (series or level) that cannot be referenced virtually, with
        one :class:`~vzcore.errors.VZSkippedPartsWarning` listing them, and read the rest.
        Default False: one :class:`~vzcore.errors.UnsupportedFeatureError` names every such
        image (an :class:`~vzcore.errors.UnsupportedPartsError` when there are several).
    """

    name: ClassVar[str] = "tiff"

    @classmethod
    def sniff(cls, head: bytes, url: str) -> bool:
        """Return True when ``head`` starts with a TIFF or BigTIFF header."""
        return head[:4] in _MAGICS

    def read(
        self,
        url: str,
        *,
        group: str | None = None,
        storage_options: dict[str, Any] | None = None,
        variable_name: str = "band_data",
        short_strips: str = "inline",
        overviews: bool = True,
        skip_unsupported: bool = False,
        drop_variables: Iterable[str] | str | None = None,
    ) -> ManifestGroup:
        """Return the group at ``group`` (the root when None) with all its descendants.

        Parameters
        ----------
        url
            Absolute URL of the TIFF file.
        group
            ``None`` or ``""`` for the whole file, ``"overview_<n>"``, ``"series_<i>"`` or
            ``"series_<i>/overview_<n>"`` for one part of it.
        storage_options
            fsspec options for remote URLs.
        variable_name, short_strips, overviews, skip_unsupported
            See the class documentation.
        drop_variables
            Variables to leave out (in every group). The image variable, when dropped,
            is not parsed: its tiles or strips are never indexed.
        """
        if short_strips not in _SHORT_STRIPS:
            raise OptionError(
                "reader 'tiff'",
                "short_strips",
                short_strips,
                f"use one of {', '.join(map(repr, _SHORT_STRIPS))}",
            )
        with _open(url, storage_options) as f:
            drop = (
                {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
            )
            builder = _Builder(f, variable_name, short_strips, frozenset(drop))
            with _damaged(url):
                nseries = len(f.tif.series)
            if nseries == 0:
                raise CorruptFileError(url, "the file holds no image")
            series_index, level = _parse_group(url, group, nseries)
            with _damaged(url):
                if level is not None:
                    return builder.finish(
                        builder.level_group(series_index, level), skip_unsupported
                    )
                # (None: the series' full-resolution image is unsupported; finish() says so)
                node = builder.series_group(series_index, overviews) or ManifestGroup()
                if series_index == 0 and not group:
                    for i in range(1, nseries):
                        child = builder.series_group(i, overviews)
                        if child is not None:
                            node.groups[f"{_SERIES}{i}"] = child
                return builder.finish(node, skip_unsupported)


_LIBRARY_ERRORS = (
    tifffile.TiffFileError,
    OSError,
    ValueError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    UnicodeError,
    struct.error,
)
"""What tifffile raises while parsing pages and tags of a damaged file."""


@contextmanager
def _damaged(url: str) -> Iterator[None]:
    """Turn tifffile's errors on a damaged file into CorruptFileError (the reader boundary).

    tifffile parses pages and tags lazily, so broken IFDs surface as bare ValueError,
    TypeError (a tag of the wrong type), IndexError, ... while the manifests are built
    (seen by tests/test_tiff_fuzz.py). VZErrors pass through unchanged.
    """
    try:
        yield
    except VZError:
        raise
    except _LIBRARY_ERRORS as err:
        reason = f"tifffile failed reading it ({type(err).__name__}: {err})"
        raise CorruptFileError(url, reason) from err


def _parse_group(url: str, group: str | None, nseries: int) -> tuple[int, int | None]:
    """Return ``(series index, level or None for the series with its overviews)``."""
    if not group or group.strip("/") == "":
        return 0, None
    parts = group.strip("/").split("/")
    series = 0
    if parts[0].startswith(_SERIES):
        number = parts.pop(0)[len(_SERIES) :]
        if not number.isdigit() or not 0 < int(number) < nseries:
            _bad_group(url, group, nseries)
        series = int(number)
    if not parts:
        return series, None
    if len(parts) == 1 and parts[0].startswith(_OVERVIEW):
        number = parts[0][len(_OVERVIEW) :]
        if number.isdigit() and int(number) > 0:
            return series, int(number)
    _bad_group(url, group, nseries)
    raise AssertionError  # pragma: no cover - _bad_group always raises


def _bad_group(url: str, group: str, nseries: int) -> None:
    valid = ["", "overview_<n>"]
    if nseries > 1:
        valid += [f"series_<i> (1 <= i < {nseries})", "series_<i>/overview_<n>"]
    raise GroupNotFoundError(url, group, valid)


class _Builder:
    """Builds the groups of one open file."""

    def __init__(
        self, f: _File, variable_name: str, short_strips: str, drop: frozenset[str] = frozenset()
    ) -> None:
        self.f = f
        self.drop = drop
        self.variable_name = variable_name
        self.short_strips = short_strips
        self.problems: list[UnsupportedFeatureError] = []
        """The images that cannot be referenced, found so far (each left out)."""
        self._root: dict[str, tuple[int, np.ndarray | None]] | None = None
        self._renames: dict[int, frozenset[str]] = {}

    def finish(self, node: ManifestGroup, skip_unsupported: bool) -> ManifestGroup:
        """Return ``node``, or raise (warn when skipping) for the images left out."""
        if not self.problems:
            return node
        skip = "reader_options={'skip_unsupported': True}"
        if skip_unsupported:
            listing = "; ".join(f"{p.variable!r} ({p.feature})" for p in self.problems)
            warnings.warn(
                f"Left out {len(self.problems)} unsupported image(s) of {self.f.url!r} "
                f"(skip_unsupported=True): {listing}",
                VZSkippedPartsWarning,
                stacklevel=4,
            )
            return node
        if len(self.problems) == 1:
            err = self.problems[0]
            hint = "; ".join(h for h in (err.hint, f"or skip that image with {skip}") if h)
            raise UnsupportedFeatureError(
                err.url, err.variable, err.feature, hint, kind=err.kind
            ) from err
        raise UnsupportedPartsError(self.f.url, self.problems, (), skip)

    def _kept(self, *args: Any) -> ManifestGroup | None:
        """Return :meth:`_group` of ``args``, or None (recorded) for an unsupported image."""
        try:
            return self._group(*args)
        except UnsupportedFeatureError as err:
            self.problems.append(err)
            return None

    # -- groups --------------------------------------------------------------------------

    def series_group(self, index: int, overviews: bool) -> ManifestGroup | None:
        """Return the group of series ``index`` with its overview groups.

        An image that cannot be referenced is recorded in :attr:`problems` and left out
        (the whole series, for series ``index > 0`` whose full resolution is one).
        """
        series = self.f.tif.series[index]
        node = self._kept(series, series, index, 0)
        if node is None and index:
            return None
        node = node if node is not None else ManifestGroup()
        if overviews:
            for level in range(1, len(series.levels)):
                child = self._kept(series.levels[level], series, index, level)
                if child is not None:
                    node.groups[f"{_OVERVIEW}{level}"] = child
        return node

    def level_group(self, index: int, level: int) -> ManifestGroup:
        """Return the group of one overview level of series ``index``."""
        series = self.f.tif.series[index]
        if level >= len(series.levels):
            raise GroupNotFoundError(
                self.f.url,
                self._group_path(index, level),
                [self._group_path(index, n) for n in range(len(series.levels))],
            )
        return self._kept(series.levels[level], series, index, level) or ManifestGroup()

    @staticmethod
    def _group_path(index: int, level: int) -> str:
        parts = [f"{_SERIES}{index}"] if index else []
        if level:
            parts.append(f"{_OVERVIEW}{level}")
        return "/".join(parts)

    def _signature(self, index: int) -> dict[str, tuple[int, np.ndarray | None]]:
        """Return each dimension of series ``index`` (full resolution): size, geo coordinate.

        Cheap: shapes and tags only, no strip or tile is indexed.
        """
        series = self.f.tif.series[index]
        dims = _dim_names(series.axes)
        sizes = tuple(int(s) for s in series.shape)
        out: dict[str, tuple[int, np.ndarray | None]] = {
            d: (s, None) for d, s in zip(dims, sizes, strict=True)
        }
        geo = parse_geo(series.keyframe.tags)
        if geo is not None and "y" in out and "x" in out:
            coords = geo.coordinates(out["y"][0], out["x"][0])
            if coords is not None:
                out["y"], out["x"] = (out["y"][0], coords[0]), (out["x"][0], coords[1])
        return out

    def series_renames(self, index: int) -> frozenset[str]:
        """Return the dimensions of series ``index`` that clash with the root's (series 0).

        A DataTree needs every dimension that a child group shares by name with the root to
        have the root's size (and, for loaded coordinates, its values). Series 1, 2, ... of a
        file may be images of any size, so a dimension of theirs that differs from the
        root's dimension of that name gets the suffix ``_series<i>`` (``y_series1``) in
        the series' group and in its overview groups; one that equals it (a GDAL mask of the
        data's size) keeps the root's name.
        """
        if index == 0:
            return frozenset()
        cached = self._renames.get(index)
        if cached is None:
            if self._root is None:
                self._root = self._signature(0)
            mine = self._signature(index)
            cached = frozenset(
                d
                for d, (size, coords) in mine.items()
                if d in self._root
                and (
                    size != self._root[d][0]
                    or (
                        coords is not None
                        and self._root[d][1] is not None
                        and not np.array_equal(coords, np.asarray(self._root[d][1]))
                    )
                )
            )
            self._renames[index] = cached
        return cached

    def _dims(
        self, series: Any, base: Any, index: int, level: int
    ) -> tuple[tuple[str, ...], dict[str, str]]:
        """Return the dimension names of ``series``, level ``level`` of series ``index``.

        Also returns the name given to each of tifffile's axis names (``"y"`` -> ``"y1"``).
        """
        renames = self.series_renames(index)
        suffix = f"_{_SERIES.rstrip('_')}{index}"
        base_dims = _dim_names(base.axes)
        if level and len(series.shape) == len(base.shape):
            pairs = [
                (d, d if s == s0 else f"{d}{level}")
                for d, s, s0 in zip(base_dims, series.shape, base.shape, strict=True)
            ]
        elif level:
            pairs = [(d, f"{d}{level}") for d in _dim_names(series.axes)]
        else:
            pairs = [(d, d) for d in base_dims]
        names = [(d, name + suffix if d in renames else name) for d, name in pairs]
        return tuple(name for _, name in names), dict(names)

    def _group(self, series: Any, base: Any, index: int, level: int) -> ManifestGroup:
        """Return the group of ``series``, level ``level`` of series ``base``."""
        where = "/".join(p for p in (self._group_path(index, level), self.variable_name) if p)
        dims, named = self._dims(series, base, index, level)
        array: ManifestArray | np.ndarray
        if self.variable_name in self.drop:  # never parsed: only its shape is needed
            array, nodata = np.broadcast_to(np.uint8(0), tuple(series.shape)), None
        else:
            array, nodata = self._array(series, base, dims, where)
        kf = series.keyframe
        base_kf = base.keyframe
        attrs: dict[str, Any] = {}
        variables: dict[str, Variable] = {}
        if nodata is not None:
            attrs["_FillValue"] = nodata
        nbands = kf.samplesperpixel
        attrs.update(band_attrs(base_kf.tags.valueof(42112), nbands))
        attrs.update(self._tifffile_metadata(base))
        geo = parse_geo(base_kf.tags)
        if "band" in named:
            band = named["band"]
            n = array.shape[dims.index(band)]
            variables[band] = Variable((band,), np.arange(1, n + 1, dtype=np.int64))
        if geo is not None:
            if level:
                geo = geo.scaled(
                    base_kf.imagelength, base_kf.imagewidth, kf.imagelength, kf.imagewidth
                )
            self._add_geo(geo, dims, named, array.shape, variables, attrs)
        variables[self.variable_name] = Variable(dims, array, attrs)  # after its coordinates
        for name in self.drop & set(variables):
            del variables[name]
        return ManifestGroup(variables=variables)

    @staticmethod
    def _tifffile_metadata(series: Any) -> dict[str, Any]:
        """Return the user keys of tifffile's JSON ImageDescription (shaped series).

        The values are JSON already (tifffile decodes the tag's bytes as UTF-8, falling
        back to cp1252, before ``json.loads``); vzcore applies its attribute policy
        (:mod:`vzcore.manifests.attributes`) to them like to every reader's.
        """
        if getattr(series, "kind", "") != "shaped":
            return {}
        description = series.keyframe.description or ""
        try:
            meta = json.loads(description)
        except ValueError:
            return {}
        if not isinstance(meta, dict):
            return {}
        return {k: v for k, v in meta.items() if k not in ("shape", "axes") and isinstance(k, str)}

    def _add_geo(
        self,
        geo: GeoInfo,
        dims: tuple[str, ...],
        named: dict[str, str],
        shape: tuple[int, ...],
        variables: dict[str, Variable],
        attrs: dict[str, Any],
    ) -> None:
        attrs["AREA_OR_POINT"] = "Point" if geo.pixel_is_point else "Area"
        attrs["grid_mapping"] = "spatial_ref"
        attrs["coordinates"] = "spatial_ref"
        variables["spatial_ref"] = Variable((), np.array(0, dtype=np.int64), spatial_ref_attrs(geo))
        ydim, xdim = named.get("y"), named.get("x")
        if ydim is None or xdim is None:
            return
        coords = geo.coordinates(shape[dims.index(ydim)], shape[dims.index(xdim)])
        if coords is None:
            return
        yattrs, xattrs = coordinate_attrs(geo)
        variables[ydim] = Variable((ydim,), coords[0], yattrs)
        variables[xdim] = Variable((xdim,), coords[1], xattrs)

    # -- arrays ------------------------------------------------------------------------

    def _unsupported(self, where: str, feature: str, hint: str = "") -> UnsupportedFeatureError:
        return UnsupportedFeatureError(self.f.url, where, feature, hint)

    def _array(
        self, series: Any, base: Any, dims: tuple[str, ...], where: str
    ) -> tuple[ManifestArray, Any]:
        """Return the ManifestArray of one series level and its nodata value (or None).

        ``base`` is the full-resolution series, whose GDAL_NODATA applies to overviews
        that have none of their own (as in GDAL).
        """
        kf = series.keyframe
        f = self.f
        if kf.dtype is None or kf.sampleformat not in (1, 2, 3, 5, 6):
            raise self._unsupported(
                where,
                f"SampleFormat {int(kf.sampleformat)} with {kf.bitspersample} bits",
                "only unsigned/signed integers, IEEE floats, complex floats and complex "
                "integers map to zarr",
            )
        complexint = int(kf.sampleformat) == 5
        if complexint and (int(kf.bitspersample) not in (32, 64) or kf.predictor != 1):
            raise self._unsupported(
                where,
                f"complex integers of {int(kf.bitspersample)} bits with Predictor "
                f"{int(kf.predictor)}",
                "tifffile reads complex int16 and int32 pairs without a predictor only",
            )
        comp: Compression | None
        if int(kf.compression) in CCITT:
            if int(kf.bitspersample) != 1 or int(kf.samplesperpixel) != 1:
                raise self._unsupported(
                    where,
                    f"{CCITT[int(kf.compression)]} with {int(kf.bitspersample)} bits "
                    f"and {int(kf.samplesperpixel)} samples per pixel",
                    "CCITT compresses bilevel images only",
                )
            fax = self._layout(kf, where).chunk
            comp = ccitt_compression(
                int(kf.compression),
                height=fax[2],
                width=fax[3],
                t4options=int(kf.tags.valueof(292) or 0),
            )
        else:
            comp = compression_codec(
                int(kf.compression),
                photometric=int(kf.photometric),
                planarconfig=int(kf.planarconfig),
                extrasamples=tuple(int(e) for e in kf.extrasamples),
                samplesperpixel=int(kf.samplesperpixel),
                bitspersample=int(kf.bitspersample),
                is_jfif=bool(kf.is_jfif),
                jpegtables=kf.jpegtables if int(kf.compression) in (6, 7) else None,
            )
        if comp is None:
            code = int(kf.compression)
            try:
                label = tifffile.COMPRESSION(code).name
            except ValueError:
                label = "unknown"
            raise self._unsupported(
                where,
                f"compression {label} ({code})",
                "supported: none, deflate, LZW, PackBits, zstd, LZMA, JPEG, old-style JPEG, WebP, PNG, "
                "JPEG 2000, JPEG XL, JPEG XR, LERC, CCITT RLE/T.4/T.6; re-compress the file with one of them "
                "(e.g. tiffcp -c zip in.tif out.tif, or gdal_translate -co COMPRESS=DEFLATE)",
            )
        bits = int(kf.bitspersample)
        # the stored sample size: complex integers are pairs of int16/int32
        stored_bits = kf.dtype.itemsize * 8 // (2 if complexint else 1)  # 32 for cint16
        packed = not comp.image and (bits != stored_bits or kf.dtype.kind == "b")
        if complexint and comp.image:
            raise self._unsupported(where, f"complex integers compressed with {comp.name}")
        if bits != stored_bits and not (comp.image and kf.dtype.kind in "ub"):
            if kf.dtype.kind not in "ub" or bits > 32:
                raise self._unsupported(
                    where,
                    f"{bits}-bit samples of type {kf.dtype}",
                    "vz-tiff unpacks only unsigned packed integers; convert the file (e.g. "
                    "gdal_translate -ot Float32)",
                )
            if kf.predictor != 1:
                raise self._unsupported(
                    where,
                    f"Predictor {int(kf.predictor)} with {bits}-bit packed samples",
                    "convert the file (e.g. gdal_translate -ot UInt16)",
                )
        if kf.is_subsampled and kf.compression not in (6, 7):
            raise self._unsupported(where, "YCbCr chroma subsampling without JPEG compression")
        if kf.is_subsampled and kf.planarconfig == 2:
            raise self._unsupported(
                where,
                "YCbCr chroma subsampling with separate sample planes",
                "tifffile does not read it either",
            )
        if kf.jpegheader is not None:
            raise self._unsupported(
                where,
                "an NDPI JPEG header",
                "re-encode the file as a tiled TIFF or load the values instead",
            )
        if comp.image and kf.predictor != 1:
            raise self._unsupported(where, f"Predictor {int(kf.predictor)} with {comp.name}")

        layout = self._layout(kf, where)
        shaped = layout.shaped
        itemsize = stored_bits // 8  # bytes per stored sample (both parts, when complex)
        # Image codecs decode to native-endian arrays; bytes codecs give the file's bytes;
        # packed samples are unpacked to native-endian integers (as tifffile returns them),
        # complex integers to native-endian complex floats.
        native = comp.image or packed or complexint
        dtype = kf.dtype.newbyteorder("=" if native else f.tif.byteorder)
        dtype = np.dtype(dtype.str)  # explicit byte order ("<u2", ">f4", "|u1")

        paths, page_path, offsets, counts = self._segments(series, layout, where)
        nseg_shape = layout.grid
        npages = offsets.shape[0]
        offsets = offsets.reshape((npages, *nseg_shape))
        counts = counts.reshape((npages, *nseg_shape))
        path_index = np.broadcast_to(page_path.reshape((npages,) + (1,) * 5), offsets.shape).copy()
        missing = (offsets == 0) | (counts == 0) | (path_index == _MISSING)
        if int(kf.compression) == 6:
            segments = _Segments(offsets, counts, missing, path_index)
            self._check_ojpeg(series, segments, layout, dtype, where)
        chunk = list(layout.chunk)
        grid = list(layout.grid)
        inline: dict[int, bytes] = {}

        length = shaped[2]
        rows = layout.chunk[2]
        short = not kf.is_tiled and length % rows != 0
        runlen = layout.chunk[3] * layout.chunk[4]  # samples per row of a chunk
        # Bytes per stored row: packed rows start on a byte boundary.
        row_bytes = (runlen * bits + 7) // 8 if packed else runlen * itemsize
        samples: CodecConfig | None = None
        if packed:
            samples = {
                "id": "vz_tiff_samples",
                "dtype": dtype.str,
                "size": math.prod(layout.chunk),
                "bitspersample": bits,
                "runlen": runlen,
            }
        if comp.codec is None:
            chunk_bytes = math.prod(layout.chunk[:3]) * row_bytes
            if kf.is_tiled:
                lengths = np.full(offsets.shape, chunk_bytes, dtype=np.uint64)
                self._check_sizes(counts, missing, lengths, where)
            else:
                offsets, counts, missing, path_index, rows = self._split_strips(
                    offsets,
                    counts,
                    missing,
                    path_index,
                    rows,
                    length,
                    row_bytes,
                    where,
                )
                chunk[2] = rows
                grid[2] = offsets.shape[3]
                lengths = np.full(offsets.shape, rows * row_bytes, np.uint64)
                if samples is not None:
                    samples["size"] = math.prod(chunk)
        else:
            lengths = counts.astype(np.uint64)
            if short:
                if self.short_strips == "error":
                    raise self._unsupported(
                        where,
                        f"a short last strip ({length % rows} of {rows} rows) compressed with "
                        f"{comp.name}",
                        "zarr needs full-size edge chunks; with short_strips='inline' it is "
                        "padded to a full chunk",
                    )
                if comp.full_chunks:
                    pass  # the codec decodes a short strip to the full chunk itself
                elif comp.image or kf.fillorder == 2:
                    # decoded short strips are padded to the full chunk by vz_tiff_samples
                    samples = {
                        "id": "vz_tiff_samples",
                        "dtype": dtype.str,
                        "size": math.prod(layout.chunk),
                        "bitspersample": itemsize * 8,
                        "runlen": runlen,
                    }
            if short and samples is None and not comp.full_chunks:
                inline = self._pad_short_strips(
                    series,
                    _Segments(offsets, counts, missing, path_index),
                    comp.codec,
                    layout,
                    itemsize,
                )

        target = tuple(int(s) for s in series.shape)
        shape_map = _fit(npages, shaped, tuple(chunk), tuple(grid), target)
        if shape_map is None:
            raise self._unsupported(
                where,
                f"series layout (shape {target} from pages of shape {shaped})",
            )
        final_chunk, final_grid, width_axis = shape_map
        codecs: list[CodecConfig] = []
        if kf.predictor != 1:
            if width_axis is None or (shaped[4] > 1 and width_axis != len(target) - 2):
                raise self._unsupported(where, "a predictor on this series layout")
            pred = predictor_codec(
                int(kf.predictor),
                chunk_shape=final_chunk,
                dtype_str=dtype.str,
                contig_samples=shaped[4] > 1,
            )
            if pred is None:
                raise self._unsupported(where, f"Predictor {int(kf.predictor)}")
            pred[1]["axis"] = width_axis - len(target)
            codecs.append(pred[1])
        if samples is not None:
            codecs.append(samples)
        if complexint:
            itype = np.dtype(f"{f.tif.byteorder}i{itemsize // 2}").str
            codecs.append({"id": "vz_tiff_complexint", "itype": itype})
        if comp.codec is not None:
            codecs.append(comp.codec)
        if kf.fillorder == 2 and (
            not comp.image or comp.bitorder
        ):  # tifffile ignores FillOrder for JPEG, ...
            codecs.append({"id": "vz_tiff_bitorder"})  # applies to the stored bytes: last

        pi = np.where(missing, _MISSING, path_index)
        if inline:
            flat = pi.reshape(-1)
            for k in inline:
                flat[k] = _INLINE
        manifest = ChunkManifest.from_codes(
            paths,
            pi.reshape(final_grid),
            np.where(missing, 0, offsets).reshape(final_grid),
            np.where(missing, 0, lengths).reshape(final_grid),
            inline,
        )
        nodata = self._nodata(kf, base.keyframe, dtype)
        metadata = ArrayMetadata(
            shape=target,
            dtype=dtype,
            chunk_shape=final_chunk,
            fill_value=nodata,
            codecs=tuple(codecs),
            dimension_names=dims,
        )
        return ManifestArray(metadata, manifest), nodata

    @staticmethod
    def _nodata(kf: Any, base_kf: Any, dtype: np.dtype[Any]) -> Any:
        """Return GDAL_NODATA as a Python scalar of ``dtype``, or None without the tag."""
        for page in (kf, base_kf):
            text = page.tags.valueof(42113)
            if text is not None:
                return _parse_nodata(str(text), dtype)
        return None

    def _layout(self, kf: Any, where: str) -> _Layout:
        ss, depth, length, width, sc = (int(v) for v in kf.shaped)
        if kf.is_tiled:
            td, tl, tw = int(kf.tiledepth), int(kf.tilelength), int(kf.tilewidth)
            chunk = (1, td, tl, tw, sc)
            grid = (ss, math.ceil(depth / td), math.ceil(length / tl), math.ceil(width / tw), 1)
        else:
            if depth != 1:
                raise self._unsupported(where, "volumetric (ImageDepth > 1) strips")
            rows = min(int(kf.rowsperstrip) or length, length) or 1
            chunk = (1, 1, rows, width, sc)
            grid = (ss, 1, math.ceil(length / rows), 1, 1)
        return _Layout((ss, depth, length, width, sc), chunk, grid)

    def _segments(
        self, series: Any, layout: _Layout, where: str
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Return the path table, per-page path index, and per-page segment offsets/counts."""
        f = self.f
        kf = series.keyframe
        nseg = math.prod(layout.grid)
        page_size = math.prod(layout.shaped)
        npages = max(int(series.size) // page_size, 1) if page_size else 1
        pages = list(series.pages)
        offsets = np.zeros((npages, nseg), dtype=np.uint64)
        counts = np.zeros((npages, nseg), dtype=np.uint64)
        page_path = np.full(npages, _MISSING, dtype=np.int64)
        paths: list[str] = [f.url]
        parents: dict[int, int] = {id(f.tif): 0}
        if len(pages) < npages:
            # A truncated series (tifffile/ImageJ write one IFD for contiguous pages).
            first = pages[0] if pages else None
            if first is None or kf.compression != 1 or series.dataoffset is None:
                raise self._unsupported(
                    where,
                    f"a truncated series ({len(pages)} IFDs for {npages} pages) that is "
                    "not stored contiguously and uncompressed",
                )
            base = np.asarray(first.dataoffsets, dtype=np.uint64)
            step = np.uint64(page_size * kf.dtype.itemsize // (2 if kf.sampleformat == 5 else 1))
            if base.size != nseg:
                raise CorruptFileError(
                    f.url, f"{where}: {base.size} segments where {nseg} were expected"
                )
            offsets[:] = base[None, :] + np.arange(npages, dtype=np.uint64)[:, None] * step
            per_segment = np.asarray(first.databytecounts, dtype=np.uint64)
            counts[:] = per_segment[None, :]
            page_path[:] = 0
        else:
            for i, page in enumerate(pages[:npages]):
                if page is None:
                    continue
                offs = page.dataoffsets
                if len(offs) != nseg or len(page.databytecounts) != nseg:
                    raise CorruptFileError(
                        f.url,
                        f"{where}: page {i} has {len(offs)} strip/tile offsets and "
                        f"{len(page.databytecounts)} byte counts where {nseg} were expected",
                    )
                offsets[i] = offs
                counts[i] = page.databytecounts
                if kf.compression == 6 and not any(t in page.tags for t in (279, 325, 514)):
                    counts[i] = self._ojpeg_counts(page, where)
                parent = page.parent
                code = parents.get(id(parent))
                if code is None:
                    code = parents[id(parent)] = self._add_parent(parent, paths, where)
                page_path[i] = code
        present = (offsets > 0) & (counts > 0) & (page_path[:, None] == 0)
        if f.size is not None and present.any():
            ends = (offsets + counts)[present]
            if int(ends.max()) > f.size:
                raise CorruptFileError(
                    f.url,
                    f"{where}: strips/tiles end at byte {int(ends.max())} but the file "
                    f"has only {f.size} bytes",
                )
        return paths, page_path, offsets, counts

    def _ojpeg_counts(self, page: Any, where: str) -> list[int]:
        """Byte counts of an old-style JPEG page without any (JPEGInterchangeFormat only).

        tifffile then reads, from each offset, as many bytes as the uncompressed segment
        would have (its estimate in ``page.databytecounts``), fewer at the end of the file,
        and the JPEG decoder stops at the stream's end (EOI). The references take the same
        bytes: the estimate, cut at the end of the file, which must therefore be known.
        """
        size = self.f.size
        if size is None:
            raise self._unsupported(
                where,
                f"old-style JPEG (Compression 6) data of page {page.index} without a length "
                "(JPEGInterchangeFormat with neither JPEGInterchangeFormatLength nor "
                "StripByteCounts) in a file of unknown size",
                "open a copy whose size is known (e.g. a local file)",
            )
        return [
            max(min(int(count), size - int(offset)), 0)
            for offset, count in zip(page.dataoffsets, page.databytecounts, strict=True)
        ]

    def _add_parent(self, parent: Any, paths: list[str], where: str) -> int:
        """Register another file of a multi-file series (OME-TIFF) and return its index."""
        if not self.f.local:
            raise self._unsupported(
                where,
                "a multi-file series on a remote filesystem",
                "open the files where they can be listed locally, or each file on its own",
            )
        from vzcore.io import to_url

        paths.append(to_url(parent.filehandle.path))
        return len(paths) - 1  # any number of files: the manifest picks its index type

    def _check_sizes(
        self, counts: np.ndarray, missing: np.ndarray, needed: np.ndarray, where: str
    ) -> None:
        short = ~missing & (counts < needed)
        if short.any():
            raise CorruptFileError(
                self.f.url,
                f"{where}: {int(short.sum())} uncompressed strip(s)/tile(s) hold fewer bytes "
                "than their pixels need",
            )

    def _split_strips(
        self,
        offsets: np.ndarray,
        counts: np.ndarray,
        missing: np.ndarray,
        path_index: np.ndarray,
        rows: int,
        length: int,
        row_bytes: int,
        where: str,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """Cut uncompressed strips into chunks of ``gcd(rows, length)`` rows (exact edges)."""
        nstrips = offsets.shape[3]
        rows_in = np.minimum(rows, length - np.arange(nstrips) * rows).astype(np.uint64)
        needed = np.broadcast_to(
            (rows_in * np.uint64(row_bytes)).reshape(1, 1, 1, nstrips, 1, 1), counts.shape
        )
        self._check_sizes(counts, missing, needed, where)
        if length % rows == 0:
            return offsets, counts, missing, path_index, rows
        sub = math.gcd(rows, length)
        per = rows // sub
        n = length // sub
        t = np.arange(n)
        strip = t // per
        step = (t % per).astype(np.uint64) * np.uint64(sub * row_bytes)
        offsets = offsets[:, :, :, strip] + step.reshape(1, 1, 1, n, 1, 1)
        return (
            offsets,
            counts[:, :, :, strip],
            missing[:, :, :, strip],
            path_index[:, :, :, strip],
            sub,
        )

    def _segment_reader(self, series: Any) -> Callable[[int, int, int, int], bytes]:
        """Return ``read(page, path_code, offset, size)``: bytes of a segment of ``series``.

        ``path_code`` is the segment's file in the manifest's path table (0: this file,
        others: the files of a multi-file series, read through their page's parent).
        """
        handles = {0: self.f.tif.filehandle}
        pages = list(series.pages)

        def read(page: int, code: int, offset: int, size: int) -> bytes:
            fh = handles.get(code)
            if fh is None:
                fh = handles[code] = pages[page].parent.filehandle
            fh.seek(offset)
            return bytes(fh.read(size))

        return read

    def _check_ojpeg(
        self,
        series: Any,
        segments: _Segments,
        layout: _Layout,
        dtype: np.dtype[Any],
        where: str,
    ) -> None:
        """Check that each old-style JPEG strip/tile is a whole JPEG stream of its chunk.

        tifffile decodes each segment of an old-style JPEG (Compression 6) page as a JPEG
        stream of its own (with the JPEGTables tag, if any), as it does for Compression 7,
        and so does ``vz_tiff_jpeg``. That holds when each segment starts with an SOI
        marker and its frame has the segment's rows (a short last strip: the rows left),
        width and samples. Other layouts (scan data whose header is elsewhere, in
        JPEGInterchangeFormat or rebuilt from the JPEGQTables/DCTables/ACTables tags as
        libtiff does; a frame of another size) raise UnsupportedFeatureError naming the
        page and segment. One bounded read (64 KiB) of each segment's start.
        """
        tiled = bool(series.keyframe.is_tiled)
        kind = "tile" if tiled else "strip"
        rows, width, samples = layout.chunk[2], layout.chunk[3], layout.chunk[4]
        length = layout.shaped[2]
        nbits = "8" if dtype.itemsize == 1 else "9 to 16"
        read = self._segment_reader(series)
        pages = list(series.pages)
        offsets, counts = segments.offsets, segments.counts
        for idx in zip(*np.nonzero(~segments.missing), strict=True):
            page, row, code = int(idx[0]), int(idx[3]), int(segments.path_index[idx])
            offset, count = int(offsets[idx]), int(counts[idx])
            segment = int(np.ravel_multi_index(idx[1:], offsets.shape[1:]))
            ifd = pages[page].index if page < len(pages) and pages[page] is not None else page
            head = read(page, code, offset, min(count, 1 << 16))
            try:
                frame = jpeg_frame(head)
            except ValueError:
                if count > len(head):
                    head = read(page, code, offset, count)
                try:
                    frame = jpeg_frame(head)
                except ValueError as err:
                    raise self._unsupported(
                        where,
                        f"old-style JPEG (Compression 6) data: {kind} {segment} of page "
                        f"{ifd} (byte {offset}) is not a JPEG stream of its own: {err}",
                        "tifffile cannot decode it either; libtiff rebuilds such streams "
                        "(tiffcp -c zip in.tif out.tif gives a file to open instead)",
                    ) from None
            want = (rows if tiled else min(rows, length - row * rows), width, samples)
            precision, got = frame[0], frame[1:]
            if got != want or not (precision <= 8) == (dtype.itemsize == 1):
                raise self._unsupported(
                    where,
                    f"old-style JPEG (Compression 6) data: {kind} {segment} of page {ifd} "
                    f"(byte {offset}) is a {precision}-bit JPEG frame of {got[0]} rows, "
                    f"{got[1]} columns and {got[2]} components where the page's layout "
                    f"needs {want[0]}, {want[1]} and {want[2]} of {nbits} bits",
                    "its decoded values do not fill one chunk; tiffcp -c zip in.tif out.tif "
                    "gives a file to open instead",
                )

    def _pad_short_strips(
        self,
        series: Any,
        segments: _Segments,
        codec_config: CodecConfig,
        layout: _Layout,
        itemsize: int,
    ) -> dict[int, bytes]:
        """Re-encode each present short last strip padded to a full chunk; key: flat index."""
        import numcodecs

        codec = numcodecs.get_codec(dict(codec_config))
        full = math.prod(layout.chunk) * itemsize
        shape = segments.offsets.shape
        last = shape[3] - 1
        read = self._segment_reader(series)
        out: dict[int, bytes] = {}
        for page, s in np.ndindex(shape[0], shape[1]):
            idx = (page, s, 0, last, 0, 0)
            if segments.missing[idx]:
                continue
            code = int(segments.path_index[idx])
            raw = read(page, code, int(segments.offsets[idx]), int(segments.counts[idx]))
            try:
                decoded = bytes(memoryview(codec.decode(raw)).cast("B"))
            except Exception as err:  # codec boundary: any decoder failure means bad data
                raise CorruptFileError(
                    self.f.url, f"the last strip of page {page} does not decode: {err}"
                ) from err
            padded = decoded[:full].ljust(full, b"\x00")
            out[int(np.ravel_multi_index(idx, shape))] = bytes(codec.encode(padded))
        return out


def _parse_nodata(text: str, dtype: np.dtype[Any]) -> Any:
    """Return a GDAL_NODATA string as a value of ``dtype``, or None when it is not one."""
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not number.is_integer() or not info.min <= number <= info.max:
            return None  # GDAL ignores a nodata value the data type cannot hold
        return int(number)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            return float(np.asarray(number).astype(dtype))
    return None


def _fit(
    npages: int,
    shaped: tuple[int, ...],
    chunk: tuple[int, ...],
    grid: tuple[int, ...],
    target: tuple[int, ...],
) -> tuple[tuple[int, ...], tuple[int, ...], int | None] | None:
    """Map ``(pages, *shaped)`` onto tifffile's series shape ``target``.

    tifffile's series shape is the page axes (whose product is the number of pages)
    followed by the page's 5-d shape without its length-1 axes (and with length-1 axes
    of its own anywhere). Returns the chunk shape, the chunk grid and the position of the
    image-width axis in ``target`` (None when squeezed away), or None when ``target`` is
    not such a shape.
    """
    core = [ax for ax in range(5) if shaped[ax] != 1]
    core_sizes = [shaped[ax] for ax in core]
    for k in range(len(target) + 1):
        if math.prod(target[:k]) != npages:
            continue
        rest = target[k:]
        if [s for s in rest if s != 1] != core_sizes:
            continue
        out_chunk = [1] * k
        out_grid = list(target[:k])
        width_axis = None
        pos = 0
        for i, s in enumerate(rest):
            if s == 1:
                out_chunk.append(1)
                out_grid.append(1)
                continue
            ax = core[pos]
            pos += 1
            out_chunk.append(chunk[ax])
            out_grid.append(grid[ax])
            if ax == 3:
                width_axis = k + i
        return tuple(out_chunk), tuple(out_grid), width_axis
    return None
