"""vz-icechunk as a vzcore plugin, and its container helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from vzcore.errors import WriteError
from vzcore.testing.imports import import_statements, modules_imported_by

from .conftest import icechunk


def test_writer_is_registered() -> None:
    from vzcore.testing.registration import assert_writer_registered

    from vz_icechunk import IcechunkWriter

    assert_writer_registered("icechunk", IcechunkWriter, "vz-icechunk")


def test_plugin_module_imports_nothing_heavy() -> None:
    heavy = {"vz_icechunk._writer", "vz_icechunk.containers", "icechunk", "zarr", "h5py", "cftime"}
    assert modules_imported_by("import vz_icechunk, vz_icechunk.plugin", heavy) == []


def test_writer_sources_never_import_xarray() -> None:
    import vz_icechunk

    for source in Path(vz_icechunk.__file__).parent.glob("*.py"):
        for names in import_statements(source):
            assert not any(n.split(".")[0] == "xarray" for n in names), source.name


def test_url_prefixes_and_containers() -> None:
    from vz_icechunk import containers_for
    from vz_icechunk.containers import url_prefixes

    urls = [
        "file:///data/a/x.nc",
        "file:///data/a/b/y.nc",
        "file:///other/z.nc",
        "s3://bucket/k/1.nc",
        "s3://bucket/2.nc",
        "https://host.example/files/3.nc",
    ]
    assert url_prefixes(urls) == [
        "file:///data/a/",
        "file:///other/",
        "https://host.example/",
        "s3://bucket/",
    ]
    found = containers_for(urls, region="us-east-1")
    assert [c.url_prefix for c in found] == url_prefixes(urls)
    assert all(isinstance(c, icechunk.VirtualChunkContainer) for c in found)
    with pytest.raises(WriteError, match="scheme 'ftp'"):
        url_prefixes(["ftp://host/x.nc"])


def test_authorize_for_gives_explicit_local_access() -> None:
    from vz_icechunk import authorize_for, containers_for

    urls = ["file:///data/a/x.nc", "https://host.example/3.nc"]
    auth = authorize_for(urls)
    assert set(auth) == {"file:///data/a/", "https://host.example/"}
    assert auth == authorize_for(containers_for(urls))
    creds = icechunk.s3_static_credentials(access_key_id="k", secret_access_key="s")
    assert set(authorize_for(["s3://bkt/x.nc"], creds)) == {"s3://bkt/"}
