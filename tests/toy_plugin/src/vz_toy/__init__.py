"""A toy chunked format ("VZTOY"): a JSON header followed by raw or zlib chunks."""

from vz_toy._format import write_toy

__all__ = ["write_toy"]
