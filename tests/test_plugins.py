"""Plugin discovery, failure policy, sniffing and install hints."""

from __future__ import annotations

import textwrap
import types
import warnings
from pathlib import Path

import pytest

import vzcore
from vzcore import plugins
from vzcore.errors import (
    NoReaderFoundError,
    NoWriterFoundError,
    PluginLoadError,
    VZPluginLoadWarning,
)
from vzcore.registry import Magic, WriterSpec

from .conftest import plugins_on_path


def _fake_dist(site: Path, dist: str, version: str, entry_points: dict[str, str]) -> None:
    """Create a ``*.dist-info`` so importlib.metadata discovers entry points without pip."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[vzcore]\n{eps}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from plugins_on_path(tmp_path, monkeypatch, lambda m: m.startswith("fakeplug_"))


def _write_module(site: Path, name: str, body: str) -> None:
    (site / f"{name}.py").write_text(textwrap.dedent(body))


GOOD = """
import vzcore
from vzcore.registry import Magic, ReaderSpec, WriterSpec

@vzcore.hookimpl
def vz_register_readers(registry):
    registry.add(ReaderSpec(name="fakefmt", load="fakeplug_good_impl:Reader",
                            magic=(Magic(b"FAKE"),), extensions=(".fake",)))

@vzcore.hookimpl
def vz_register_writers(registry):
    registry.add(WriterSpec(name="fakeout", load="fakeplug_good_impl:Writer"))
"""


def test_entry_point_plugin_is_discovered_with_its_version(site):
    _write_module(site, "fakeplug_good", GOOD)
    _fake_dist(site, "vz-fake", "2.5.0", {"fake": "fakeplug_good"})
    info = {p.name: p for p in vzcore.list_plugins()}
    assert info["fake"].distribution == "vz-fake"
    assert info["fake"].version == "2.5.0"
    assert info["fake"].readers == ("fakefmt",)
    assert info["fake"].writers == ("fakeout",)
    spec = plugins.find_reader("file:///x.bin", b"FAKE....")
    assert spec.name == "fakefmt"
    assert spec.distribution == "vz-fake"


def test_broken_plugin_is_skipped_with_a_warning_naming_it(site):
    _write_module(site, "fakeplug_good", GOOD)
    _write_module(site, "fakeplug_broken", "raise RuntimeError('boom at import')\n")
    _fake_dist(site, "vz-fake", "1.0", {"fake": "fakeplug_good"})
    _fake_dist(site, "vz-broken", "0.3", {"broken": "fakeplug_broken"})
    with pytest.warns(VZPluginLoadWarning, match=r"'broken' \(vz-broken 0.3\).*boom at import"):
        names = {p.name for p in vzcore.list_plugins()}
    assert "fake" in names
    assert "broken" not in names


def test_plugin_whose_hook_fails_is_dropped_alone(site):
    _write_module(site, "fakeplug_good", GOOD)
    _write_module(
        site,
        "fakeplug_badhook",
        """
        import vzcore
        from vzcore.registry import ReaderSpec

        @vzcore.hookimpl
        def vz_register_readers(registry):
            registry.add(ReaderSpec(name="half", load="x:Y"))
            raise ValueError("hook exploded")
    """,
    )
    _fake_dist(site, "vz-fake", "1.0", {"fake": "fakeplug_good"})
    _fake_dist(site, "vz-badhook", "1.0", {"badhook": "fakeplug_badhook"})
    with pytest.warns(VZPluginLoadWarning, match="hook exploded"):
        names = [s.name for s in plugins.readers()]
    assert "fakefmt" in names
    assert "half" not in names


def test_strict_mode_raises(site, monkeypatch):
    _write_module(site, "fakeplug_broken", "raise RuntimeError('boom')\n")
    _fake_dist(site, "vz-broken", "0.3", {"broken": "fakeplug_broken"})
    monkeypatch.setenv("VZCORE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="broken"):
        vzcore.list_plugins()


def test_block_and_allow_lists(site, monkeypatch):
    _write_module(site, "fakeplug_good", GOOD)
    _fake_dist(site, "vz-fake", "1.0", {"fake": "fakeplug_good"})
    monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", "fake")
    assert "fake" not in {p.name for p in vzcore.list_plugins()}
    monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", "*")
    vzcore.refresh_plugins()
    assert vzcore.list_plugins() == []
    monkeypatch.delenv("VZCORE_DISABLE_PLUGINS")
    monkeypatch.setenv("VZCORE_PLUGINS", "nothing-else")
    vzcore.refresh_plugins()
    assert vzcore.list_plugins() == []


def test_registering_a_plugin_object_in_process():
    mod = types.ModuleType("inproc")

    @vzcore.hookimpl
    def vz_register_writers(registry):
        registry.add(WriterSpec(name="inproc-writer", load="json:dumps"))

    mod.vz_register_writers = vz_register_writers
    vzcore.register_plugin(mod, "inproc")
    try:
        assert plugins.get_writer("inproc-writer").load_class() is __import__("json").dumps
    finally:
        plugins.unregister_plugin("inproc")
    with pytest.raises(NoWriterFoundError):
        plugins.get_writer("inproc-writer")


@pytest.mark.parametrize(
    ("name", "head", "dist"),
    [
        ("x.tif", b"II*\x00" + bytes(12), "vz-tiff"),
        ("x.tif", b"MM\x00+" + bytes(12), "vz-tiff"),
        ("x.nc", b"CDF\x02" + bytes(12), "vz-netcdf3"),
        ("x.h5", bytes(512) + b"\x89HDF\r\n\x1a\n", "vz-hdf5"),
        ("refs.json", b'{"version": 1}', "vz-kerchunk"),
    ],
)
def test_missing_reader_names_the_distribution_to_install(monkeypatch, name, head, dist):
    monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", "*")
    vzcore.refresh_plugins()
    try:
        with pytest.raises(NoReaderFoundError) as info:
            plugins.find_reader(f"file:///data/{name}", head)
    finally:
        monkeypatch.delenv("VZCORE_DISABLE_PLUGINS")
        vzcore.refresh_plugins()
    assert (
        str(info.value)
        == f"No reader for 'file:///data/{name}': install {dist} (pip install {dist})"
    )


def test_missing_reader_through_open_virtual_dataset(tmp_path, monkeypatch):
    path = tmp_path / "x.tif"
    path.write_bytes(b"II*\x00" + bytes(64))
    monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", "*")
    vzcore.refresh_plugins()
    try:
        with pytest.raises(NoReaderFoundError, match=r"No reader for '.*x\.tif': install vz-tiff"):
            vzcore.open_virtual_dataset(path)
    finally:
        monkeypatch.delenv("VZCORE_DISABLE_PLUGINS")
        vzcore.refresh_plugins()


def test_missing_writer_names_the_distribution(monkeypatch):
    monkeypatch.setenv("VZCORE_DISABLE_PLUGINS", "*")
    vzcore.refresh_plugins()
    try:
        with pytest.raises(
            NoWriterFoundError, match=r"install vz-icechunk \(pip install vz-icechunk\)"
        ):
            plugins.get_writer("icechunk")
    finally:
        monkeypatch.delenv("VZCORE_DISABLE_PLUGINS")
        vzcore.refresh_plugins()


def test_magic_at_user_block_offsets():
    m = Magic(b"\x89HDF\r\n\x1a\n", (0, 512, 1024))
    assert m.found_in(bytes(1024) + b"\x89HDF\r\n\x1a\n")
    assert not m.found_in(bytes(100) + b"\x89HDF\r\n\x1a\n")
    doubling = Magic(b"\x89HDF\r\n\x1a\n", (0, 512), doubling=True)
    assert list(doubling.candidates(5000)) == [0, 512, 1024, 2048, 4096]
    assert doubling.found_in(bytes(4096) + b"\x89HDF\r\n\x1a\n")
    assert not doubling.found_in(bytes(3000) + b"\x89HDF\r\n\x1a\n")
    assert not Magic(b"CDF").found_past(b"XYZ", 2**40, lambda o, n: b"CDF")  # only offset 0


def test_reader_priority_and_sniff(site):
    _write_module(
        site,
        "fakeplug_two",
        """
        import vzcore
        from vzcore.registry import Magic, ReaderSpec
        from vzcore.types import Reader

        class Picky(Reader):
            name = "picky"
            @classmethod
            def sniff(cls, head, url):
                return b"PICKY" in head

        class Plain(Reader):  # the protocol's default sniff takes every file
            name = "plain"

        @vzcore.hookimpl
        def vz_register_readers(registry):
            registry.add(ReaderSpec(name="picky", load="fakeplug_two:Picky",
                                    magic=(Magic(b"SAME"),), priority=10))
            registry.add(ReaderSpec(name="plain", load="fakeplug_two:Plain",
                                    magic=(Magic(b"SAME"),)))
    """,
    )
    _fake_dist(site, "vz-two", "1.0", {"two": "fakeplug_two"})
    assert plugins.find_reader("file:///f", b"SAME PICKY").name == "picky"
    assert plugins.find_reader("file:///f", b"SAME other").name == "plain"


def test_no_warning_from_a_clean_environment():
    vzcore.refresh_plugins()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vzcore.list_plugins()


def test_group_not_found_error_lists_choices():
    from vzcore.errors import GroupNotFoundError

    err = GroupNotFoundError("file:///a.nc", "nope", ["/", "/child"])
    assert isinstance(err, KeyError)
    assert str(err) == "No group 'nope' in 'file:///a.nc'; groups there: '/', '/child'"


def test_every_registered_reader_and_writer_shows_its_name():
    from vzcore.types import Reader, Writer

    for spec in plugins.readers():
        reader = spec.load_class()()
        assert isinstance(reader, Reader)
        assert repr(reader).startswith(type(reader).__name__ + "(")
    for spec in plugins.writers():
        writer = spec.load_class()()
        assert isinstance(writer, Writer)
        assert repr(writer) == f"{type(writer).__name__}(name={writer.name!r})"


def test_head_size_follows_the_registered_readers():
    """head_size is kept per registry state: a reader registered or dropped changes it."""
    from vzcore.registry import ReaderSpec

    before = plugins.head_size()
    mod = types.ModuleType("inproc_far_magic")

    @vzcore.hookimpl
    def vz_register_readers(registry):
        registry.add(
            ReaderSpec(name="far-magic", load="json:loads", magic=(Magic(b"FAR", (4000,)),))
        )

    mod.vz_register_readers = vz_register_readers
    vzcore.register_plugin(mod, "inproc_far_magic")
    try:
        assert plugins.head_size() == 4003 != before
        assert plugins.head_size() == plugins._head_size(plugins.readers())
    finally:
        plugins.unregister_plugin("inproc_far_magic")
    assert plugins.head_size() == before == plugins._head_size(plugins.readers())


def _found_in_by_candidates(magic: Magic, head: bytes) -> bool:
    """``Magic.found_in`` as the candidate walk defines it (the reference)."""
    n = len(magic.signature)
    return any(head[o : o + n] == magic.signature for o in magic.candidates(len(head)))


@pytest.mark.parametrize(
    "magic",
    [
        Magic(b"CDF\x01"),
        Magic(b"II*\x00"),
        Magic(b"\x89HDF\r\n\x1a\n", (0, 512, 1024)),
        Magic(b"\x89HDF\r\n\x1a\n", (0, 512), doubling=True),
        Magic(b"AB", (3, 1)),
        Magic(b"AB", ()),
        Magic(b"", (0, 5)),
        Magic(b"AB", (-2, 0)),
    ],
)
def test_found_in_equals_the_candidate_walk(magic):
    sig = magic.signature
    heads = [b"", sig, sig[:-1], b"x" + sig, bytes(3) + sig, bytes(512) + sig, bytes(1024) + sig]
    heads += [bytes(5) + sig + bytes(2), bytes(2048) + sig, b"zzAB", b"zAB", b"zzzAB"]
    for head in heads:
        assert _outcome(magic.found_in, head) == _outcome(
            lambda h: _found_in_by_candidates(magic, h), head
        ), head[:8]


def _outcome(fn, head):
    try:
        return fn(head)
    except Exception as err:  # noqa: BLE001  # (an invalid Magic fails alike)
        return type(err)


MAGICS = [
    Magic(b"CDF\x01"),
    Magic(b"II*\x00"),
    Magic(b"\x89HDF\r\n\x1a\n", (0, 512, 1024)),
    Magic(b"\x89HDF\r\n\x1a\n", (0, 512), doubling=True),
    Magic(b"AB", (3, 1)),
    Magic(b"", (0, 5)),
    Magic(b"FAR", (4000,)),
]


@pytest.mark.parametrize("odd", [None, Magic(b"AB", (-2, 0))], ids=["usual", "negative"])
def test_readers_found_by_magic_as_by_found_in(odd):
    """find_reader's table of candidate offsets finds what each signature's found_in finds."""
    from vzcore.registry import ReaderRegistry, ReaderSpec

    registry = ReaderRegistry()
    for k, magic in enumerate(MAGICS):
        registry.add(ReaderSpec(name=f"r{k}", load="json:loads", magic=(magic,)))
    registry.add(ReaderSpec(name="none", load="json:loads"))
    registry.add(ReaderSpec(name="two", load="json:loads", magic=(MAGICS[0], MAGICS[4])))
    if odd is not None:
        registry.add(ReaderSpec(name="odd", load="json:loads", magic=(odd,)))
    size, table = registry.derived("magic_candidates", plugins._magic_candidates)
    assert size == plugins._head_size(registry.values())
    assert (table is None) == (odd is not None)
    heads = [b"", b"zzAB", b"zAB", b"zzzAB", b"abc", bytes(5), bytes(4000) + b"FAR"]
    for m in MAGICS:
        sig = m.signature
        heads += [sig, sig[:-1], b"x" + sig, bytes(3) + sig, bytes(512) + sig]
        heads += [bytes(1024) + sig, bytes(5) + sig + bytes(2), bytes(2048) + sig]
    heads += [h + bytes(size + 10) for h in heads[:12]]  # longer than the head sniffed
    for head in heads:
        want = [s for s in registry.values() if any(m.found_in(head) for m in s.magic)]
        assert plugins._found_by_magic(head, registry) == want, head[:8]
