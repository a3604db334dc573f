"""Sources in S3 (a moto server on 127.0.0.1): containers for a bucket, ETag checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vzcore.testing.samples import MINIMAL

from .conftest import assert_same, icechunk, open_originals, write_sample_files, xr

pytest.importorskip("moto")
pytest.importorskip("s3fs")


def test_s3_sources_round_trip_and_changed_object(tmp_path: Path) -> None:
    from vzcore.testing.servers import s3_server

    import vz_icechunk

    d = tmp_path / "files"
    d.mkdir()
    files = write_sample_files(d, n_files=2)
    with s3_server() as s3:
        fs = s3.filesystem()
        urls = []
        for f in files:
            fs.put(str(f), f"{s3.bucket}/data/{f.name}")
            urls.append(f"s3://{s3.bucket}/data/{f.name}")
        import vzcore

        vds = vzcore.open_virtual_mfdataset(
            urls,
            storage_options=s3.storage_options,
            **MINIMAL,
            combine_attrs="override",
        )
        sources = vds.virtualize.to_group().sources()
        assert all(info.etag for info in sources.values())  # S3 gives ETags

        config = icechunk.RepositoryConfig.default()
        found = vz_icechunk.containers_for(vds, **s3.container_options())
        assert [c.url_prefix for c in found] == [f"s3://{s3.bucket}/"]
        for c in found:
            config.set_virtual_chunk_container(c)
        auth = vz_icechunk.authorize_for(
            vds,
            icechunk.s3_static_credentials(access_key_id="testing", secret_access_key="testing"),
        )
        storage = icechunk.local_filesystem_storage(str(tmp_path / "repo"))
        repo = icechunk.Repository.create(storage, config, authorize_virtual_chunk_access=auth)
        session = repo.writable_session("main")
        vds.virtualize.to_icechunk(session)
        session.commit("from S3")

        def reopen():  # type: ignore[no-untyped-def]
            r = icechunk.Repository.open(storage, authorize_virtual_chunk_access=auth)
            return xr.open_zarr(r.readonly_session("main").store, consolidated=False)

        assert_same(reopen().load(), open_originals(files))

        # Replace the second object with other bytes: its ETag changes, Icechunk refuses it.
        import netCDF4

        with netCDF4.Dataset(files[1], "a") as nc:
            nc["counts"][:] = nc["counts"][:] + 7
        fs.put(str(files[1]), f"{s3.bucket}/data/{files[1].name}")
        ds = reopen()
        with pytest.raises(Exception, match="checksum of the object owning the virtual chunk"):
            ds["counts"].load()
        np.testing.assert_array_equal(
            ds["counts"].isel(time=slice(0, 4)).values,
            open_originals(files[:1])["counts"].values,
        )
