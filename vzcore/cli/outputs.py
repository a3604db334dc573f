"""Reading existing references and writing outputs for the ``vz`` commands.

Kerchunk JSON/Parquet outputs go through the writer plugins (atomic, ``mode`` honoured); a
remote target (``s3://...``) is written to a local temporary directory first and then
uploaded with fsspec. Icechunk outputs are local repositories, created with the virtual
chunk containers their references need, and committed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vzcore.cli.options import UsageError, is_remote
from vzcore.errors import DecodedDtypeError

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = ["explain_refusal", "is_icechunk_repo", "read_refs", "refs_options", "write_group"]

_WRITERS = {"json": "kerchunk", "parquet": "parquet", "icechunk": "icechunk"}


def is_icechunk_repo(target: str) -> bool:
    """Return True when ``target`` is a local directory holding an Icechunk repository."""
    path = target.removeprefix("file://")
    return (
        os.path.isdir(path)
        and (
            os.path.exists(os.path.join(path, "repo")) or os.path.isdir(os.path.join(path, "refs"))
        )
        and not os.path.exists(os.path.join(path, ".zmetadata"))
    )


def refs_options(allow: list[str] | None) -> dict[str, Any] | None:
    """Return the ``kerchunk`` reader options for ``--allow PREFIX`` arguments."""
    return {"allowed_prefixes": allow} if allow else None


@contextmanager
def explain_refusal(refs: str) -> Iterator[None]:
    """Turn the kerchunk reader's refusal of a URL into the command-line remedy (--allow)."""
    try:
        yield
    except PermissionError as err:
        url = getattr(err, "url", None)
        if url is None or type(err).__name__ != "ReferenceNotAllowedError":
            raise
        from vz_kerchunk._safety import _suggest_prefix

        raise UsageError(
            f"references {refs!r} point to {url!r}, outside their own directory, and are "
            f"not followed there by default; if you trust them, pass --allow "
            f"{_suggest_prefix(url)}"
        ) from err


def read_refs(
    target: str,
    storage_options: dict[str, Any] | None,
    allow: list[str] | None,
    reader_options: dict[str, Any] | None = None,
) -> ManifestGroup:
    """Read existing kerchunk references (JSON, Parquet, zarr v2 or v3) as a ManifestGroup.

    ``reader_options`` are the kerchunk reader's (``--reader-option``); ``--allow`` adds
    its ``allowed_prefixes``.
    """
    from vzcore.api import read_group

    options = dict(reader_options or {})
    if allow:
        if "allowed_prefixes" in options:
            raise UsageError(
                "give the allowed prefixes once: --allow PREFIX or "
                "--reader-option allowed_prefixes=[...], not both"
            )
        options.update(refs_options(allow) or {})

    if is_icechunk_repo(target):
        raise UsageError(
            f"{target!r} is an Icechunk repository; vz reads kerchunk references (JSON or "
            "Parquet) here. Open the repository with icechunk and xarray instead."
        )
    with explain_refusal(target):
        return read_group(
            target,
            reader="kerchunk",
            storage_options=storage_options,
            reader_options=options or None,
        )


def _writer(fmt: str) -> Any:
    from vzcore import plugins

    return plugins.get_writer(_WRITERS[fmt]).load_class()()


def write_group(
    group: ManifestGroup,
    target: str,
    fmt: str,
    *,
    mode: str = "w-",
    zarr_format: int | None = None,
    storage_options: dict[str, Any] | None = None,
    append_dim: str | None = None,
    message: str = "vz",
    allow_float64_decoding: bool = False,
) -> None:
    """Write ``group`` to ``target`` in format ``fmt`` (``json``, ``parquet``, ``icechunk``)."""
    try:
        _write(
            group,
            target,
            fmt,
            mode,
            zarr_format,
            storage_options,
            append_dim,
            message,
            allow_float64_decoding,
        )
    except DecodedDtypeError as err:  # the command line's spelling of the remedies
        names = dict.fromkeys(p.rsplit("/", 1)[-1] for p in err.variables)
        drop = " ".join(f"--drop {n}" for n in names) + " when scanning"
        raise DecodedDtypeError(err.changed, "--allow-float64-decoding", drop) from None


def _write(
    group: ManifestGroup,
    target: str,
    fmt: str,
    mode: str,
    zarr_format: int | None,
    storage_options: dict[str, Any] | None,
    append_dim: str | None,
    message: str,
    allow_float64_decoding: bool,
) -> None:
    if fmt == "icechunk":
        if zarr_format == 2:
            raise UsageError("Icechunk stores zarr format 3 only; drop --zarr-format 2")
        _write_icechunk(
            group,
            target,
            mode=mode,
            append_dim=append_dim,
            message=message,
            allow_float64_decoding=allow_float64_decoding,
        )
        return
    options: dict[str, Any] = {"mode": mode, "allow_float64_decoding": allow_float64_decoding}
    if zarr_format is not None:
        options["zarr_format"] = zarr_format
    if fmt == "json":
        options["format"] = "json"
    writer = _writer(fmt)
    if not is_remote(target):
        writer.write(group, target.removeprefix("file://"), **options)
        return
    import fsspec

    fs, path = fsspec.core.url_to_fs(target, **(storage_options or {}))
    if mode == "w-" and fs.exists(path):
        raise UsageError(f"{target!r} exists; pass --mode w to replace it")
    with tempfile.TemporaryDirectory(prefix="vz-") as tmp:
        local = os.path.join(tmp, os.path.basename(path.rstrip("/")) or "refs")
        writer.write(group, local, **options)
        if os.path.isdir(local):
            if fs.exists(path):
                fs.rm(path, recursive=True)
            fs.put(local.rstrip("/") + "/", path.rstrip("/") + "/", recursive=True)
        else:
            fs.put_file(local, path)  # one PUT: the object appears whole or not at all


def _write_icechunk(
    group: ManifestGroup,
    target: str,
    *,
    mode: str,
    append_dim: str | None,
    message: str,
    allow_float64_decoding: bool,
) -> None:
    if is_remote(target):
        raise UsageError(
            f"vz writes Icechunk repositories on local paths only, not {target!r}; for "
            "object storage use the Python API (vds.virtualize.to_icechunk(session))"
        )
    import icechunk
    import vz_icechunk

    path = target.removeprefix("file://")
    storage = icechunk.local_filesystem_storage(path)
    authorize = vz_icechunk.authorize_for(group)
    if is_icechunk_repo(path):
        repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access=authorize)
        config = repo.config
        known = (
            {c.url_prefix for c in config.virtual_chunk_containers.values()}
            if (config.virtual_chunk_containers)
            else set()
        )
        new = [c for c in vz_icechunk.containers_for(group) if c.url_prefix not in known]
        if new:
            for c in new:
                config.set_virtual_chunk_container(c)
            repo = icechunk.Repository.open(
                storage, config=config, authorize_virtual_chunk_access=authorize
            )
            repo.save_config()
    else:
        if append_dim is not None:
            raise UsageError(f"{target!r} is not an Icechunk repository to append to")
        if os.path.exists(path) and os.listdir(path):
            raise UsageError(f"{target!r} exists and is not an Icechunk repository")
        config = icechunk.RepositoryConfig.default()
        for c in vz_icechunk.containers_for(group):
            config.set_virtual_chunk_container(c)
        repo = icechunk.Repository.create(storage, config, authorize_virtual_chunk_access=authorize)
    session = repo.writable_session("main")
    _writer("icechunk").write(
        group,
        session,
        mode=mode,
        append_dim=append_dim,
        allow_float64_decoding=allow_float64_decoding,
    )
    session.commit(message)
