"""Write a virtual dataset to an output and open it the way its users do (tests only).

- :func:`icechunk_store`: commit a virtual dataset or tree to a new local Icechunk
  repository that allows its sources' virtual chunks, and return the read-only store of
  the reopened repository (needs icechunk and vz-icechunk; the test is skipped without);
- :func:`reference_group`: a kerchunk reference file opened by zarr through fsspec's
  ReferenceFileSystem;
- :func:`zarr_outputs`: both together, one zarr group per output (kerchunk JSON with zarr
  format 2 and 3 metadata, Icechunk), for comparing every output's values with the
  original file's. Zarr format 3 finds a plugin's codecs only through its entry points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ALL_OUTPUTS", "icechunk_store", "reference_group", "zarr_outputs"]

ALL_OUTPUTS = ("kerchunk v2", "kerchunk v3", "icechunk")
"""The outputs :func:`zarr_outputs` writes by default."""


def icechunk_store(
    vobj: Any, directory: Path | str, *, sources: Any = None, message: str = "written"
) -> Any:
    """Commit ``vobj`` to a new Icechunk repository at ``directory``; return its read-only store.

    Parameters
    ----------
    vobj
        A virtual ``xarray.Dataset`` or ``DataTree`` (``vobj.virtualize.to_icechunk``).
    directory
        Where the repository is created (local file system storage).
    sources
        What ``vz_icechunk.containers_for`` and ``authorize_for`` are given: the source
        URLs or paths the repository trusts; by default ``vobj`` itself.
    message
        The commit message.

    Returns
    -------
    Any
        The ``main`` branch's read-only store of the repository opened again, as a reader
        in another process sees it.
    """
    import pytest

    icechunk = pytest.importorskip("icechunk")
    vz_icechunk = pytest.importorskip("vz_icechunk")
    trusted = vobj if sources is None else sources
    config = icechunk.RepositoryConfig.default()
    for container in vz_icechunk.containers_for(trusted):
        config.set_virtual_chunk_container(container)
    auth = vz_icechunk.authorize_for(trusted)
    storage = icechunk.local_filesystem_storage(str(directory))
    repo = icechunk.Repository.create(storage, config=config, authorize_virtual_chunk_access=auth)
    session = repo.writable_session("main")
    vobj.virtualize.to_icechunk(session)
    session.commit(message)
    repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access=auth)
    return repo.readonly_session("main").store


def reference_group(refs: Path | str, zarr_format: int = 2) -> Any:
    """Open the kerchunk references ``refs`` with zarr, read-only, through fsspec."""
    import pytest

    fsspec = pytest.importorskip("fsspec")
    zarr = pytest.importorskip("zarr")
    fs = fsspec.filesystem("reference", fo=str(refs))
    return zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=zarr_format)


def zarr_outputs(
    vobj: Any, directory: Path, formats: tuple[str, ...] = ALL_OUTPUTS
) -> dict[str, Any]:
    """Write ``vobj`` as each of ``formats`` under ``directory``; return the zarr groups.

    ``"kerchunk v2"`` and ``"kerchunk v3"`` are JSON references ``refs-v2.json`` and
    ``refs-v3.json`` (replaced when present), ``"icechunk"`` a repository ``repo``
    (:func:`icechunk_store`); each is opened again by zarr as ``{format: group}``.
    """
    import pytest

    zarr = pytest.importorskip("zarr")
    out: dict[str, Any] = {}
    for name in formats:
        if name.startswith("kerchunk"):
            fmt = int(name[-1])
            refs = directory / f"refs-v{fmt}.json"
            vobj.virtualize.to_kerchunk(str(refs), format="json", zarr_format=fmt, mode="w")
            out[name] = reference_group(refs, fmt)
        elif name == "icechunk":
            store = icechunk_store(vobj, directory / "repo")
            out[name] = zarr.open_group(store, mode="r", zarr_format=3)
        else:
            raise ValueError(name)
    return out
