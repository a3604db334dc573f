"""atomic_text_file / atomic_binary_file: an output file appears complete or not at all."""

from __future__ import annotations

import pytest

from vzcore.errors import WriteError
from vzcore.io import atomic_binary_file, atomic_text_file


@pytest.mark.parametrize(
    ("opener", "data"), [(atomic_text_file, "é text\n"), (atomic_binary_file, b"\x00\xffbytes")]
)
def test_file_appears_whole_refuses_then_replaces(tmp_path, opener, data):
    target = tmp_path / "out"
    with opener(target) as f:
        f.write(data)
    read = target.read_bytes() if isinstance(data, bytes) else target.read_text("utf-8")
    assert read == data
    with pytest.raises(WriteError, match="exists"), opener(target) as f:
        f.write(data)

    def fail_half_way() -> None:
        with opener(target, "w") as f:
            f.write(data * 2)
            raise RuntimeError("the writer failed half way")

    with pytest.raises(RuntimeError):
        fail_half_way()
    read = target.read_bytes() if isinstance(data, bytes) else target.read_text("utf-8")
    assert read == data  # the earlier output, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left behind
    with opener(target, "w") as f:
        f.write(data * 2)
    assert len(target.read_bytes()) == 2 * len(data.encode() if isinstance(data, str) else data)
