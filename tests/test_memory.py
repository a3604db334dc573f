"""The allocator settings around batch scans (vzcore._memory), on glibc."""

from __future__ import annotations

import pytest

from vzcore._memory import fixed_thresholds


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),  # glibc adjusts its thresholds itself
        ({"MALLOC_TRIM_THRESHOLD_": "65536"}, (65536, 128 * 1024)),  # dask's nanny
        ({"MALLOC_MMAP_THRESHOLD_": "1048576"}, (128 * 1024, 1048576)),
        ({"MALLOC_TRIM_THRESHOLD_": "0x10000", "MALLOC_MMAP_THRESHOLD_": "4096"}, (65536, 4096)),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=65536"}, (65536, 128 * 1024)),
        (
            {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=262144"},
            (128 * 1024, 262144),
        ),
        ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, None),
        ({"MALLOC_TRIM_THRESHOLD_": "lots"}, None),  # not a value glibc takes: leave it alone
        ({"MALLOC_TRIM_THRESHOLD_": "-1"}, None),
    ],
)
def test_fixed_thresholds_read_from_the_environment(environ, expected):
    assert fixed_thresholds(environ) == expected
