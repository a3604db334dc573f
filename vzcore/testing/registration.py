"""Assertions that a plugin's classes are registered as its descriptors say."""

from __future__ import annotations

__all__ = ["assert_writer_registered"]


def assert_writer_registered(name: str, cls: type, distribution: str) -> None:
    """Assert that ``cls`` is the writer ``name``, the one writer of ``distribution``.

    Parameters
    ----------
    name
        The writer's registered name (``format=`` of ``ds.virtualize.write``).
    cls
        The writer class the plugin exports.
    distribution
        The distribution that registers it (e.g. ``"vz-kerchunk"``).
    """
    import vzcore
    from vzcore import plugins
    from vzcore.types import Writer

    assert plugins.get_writer(name).load_class() is cls
    assert isinstance(cls(), Writer)
    info = {p.name: p for p in vzcore.list_plugins()}[name]
    assert info.distribution == distribution
    assert info.writers == (name,)
