"""Plugins add ``vz`` subcommands through ``vz_register_commands`` (run in-process)."""

from __future__ import annotations

import argparse
import sys
import types

import pytest

import vzcore
from vzcore.cli import CommandSpec, main
from vzcore.errors import VZError, VZPluginLoadWarning
from vzcore.plugins import unregister_plugin


def _hello_module() -> types.ModuleType:
    mod = types.ModuleType("vz_test_hello_cli")

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("who")

    def run(args: argparse.Namespace) -> int:
        if args.who == "nobody":
            raise VZError("nobody to greet; name someone")
        print(f"hello {args.who}")
        return 0

    mod.add_arguments = add_arguments  # type: ignore[attr-defined]
    mod.run = run  # type: ignore[attr-defined]
    return mod


class HelloPlugin:
    @vzcore.hookimpl
    def vz_register_commands(self, registry):
        registry.add(CommandSpec(name="hello", load="vz_test_hello_cli", help="say hello"))


class ClashingPlugin:
    @vzcore.hookimpl
    def vz_register_commands(self, registry):
        registry.add(CommandSpec(name="scan", load="vz_test_hello_cli"))


@pytest.fixture
def hello(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "vz_test_hello_cli", _hello_module())
    vzcore.register_plugin(HelloPlugin(), "hello")
    yield
    unregister_plugin("hello")


def test_a_plugin_command_runs_and_its_errors_are_one_line(hello, capsys) -> None:
    assert main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    assert main(["hello", "nobody"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vz hello: error: nobody to greet; name someone")
    assert err.count("\n") == 1
    assert main(["--help"]) == 0
    assert "say hello" in capsys.readouterr().out


def test_a_plugin_cannot_take_a_builtin_name(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "vz_test_hello_cli", _hello_module())
    vzcore.register_plugin(ClashingPlugin(), "clash")
    try:
        with pytest.warns(VZPluginLoadWarning, match="'scan' is already registered"):
            assert main(["plugins"]) == 0
    finally:
        unregister_plugin("clash")
    capsys.readouterr()


def test_storage_options_parse_json_and_dotted_keys() -> None:
    from vzcore.cli.options import parse_storage_options

    assert parse_storage_options([]) is None
    assert parse_storage_options(
        ["anon=true", "client_kwargs.region_name=us-east-1", "block_size=1024", "key=abc"]
    ) == {
        "anon": True,
        "client_kwargs": {"region_name": "us-east-1"},
        "block_size": 1024,
        "key": "abc",
    }
    with pytest.raises(VZError, match="KEY=VALUE"):
        parse_storage_options(["novalue"])
