from vzcore._urls import to_url


def test_local_paths_become_absolute_file_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert to_url("a.nc") == f"file://{tmp_path}/a.nc"
    assert to_url(f"file://{tmp_path}/../{tmp_path.name}/b.nc") == f"file://{tmp_path}/b.nc"


def test_special_characters_are_not_percent_encoded(tmp_path):
    # fsspec does not decode %20: the URL must keep the path as it is on disk.
    assert to_url(tmp_path / "sp ace" / "f#1.nc") == f"file://{tmp_path}/sp ace/f#1.nc"


def test_remote_urls_pass_through():
    assert to_url("s3://bucket/key with space.nc") == "s3://bucket/key with space.nc"
