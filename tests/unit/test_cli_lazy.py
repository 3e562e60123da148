"""The root command imports only the typed command's module; its map must name what the modules register."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command_name
from typer.testing import CliRunner

import yigongti.cli as root

SRC = Path(root.__file__).resolve().parents[1]


def _registered() -> dict[str, set[str]]:
    app = root.load_commands()
    found: dict[str, set[str]] = {}
    for cmd in app.registered_commands:
        assert cmd.callback is not None
        name = cmd.name or get_command_name(cmd.callback.__name__)
        found.setdefault(name, set()).add(cmd.callback.__module__)
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        name = group.name or sub.info.name
        assert isinstance(name, str)
        found.setdefault(name, set()).update(
            c.callback.__module__ for c in sub.registered_commands if c.callback is not None)
    return found


def test_every_registered_command_is_in_the_map_with_its_module() -> None:
    found = _registered()
    assert set(found) == set(root.COMMANDS), "COMMANDS in yigongti/cli.py must list every top-level command"
    for name, modules in found.items():
        # the map's module registers the command (it may import helpers from elsewhere)
        assert modules == {root.COMMANDS[name]}, (name, modules)
    assert set(root.COMMANDS.values()) <= set(root.COMMAND_MODULES)


@pytest.mark.parametrize("command", ["settle", "check", "policy"])
def test_a_command_loads_only_its_module(command: str) -> None:
    code = ("import sys, yigongti.cli as c; c.load_commands([%r]); "
            "print(int('yigongti.platform.cli' in sys.modules), int('yigongti.app.cli' in sys.modules), "
            "int(%r in sys.modules))" % (command, root.COMMANDS[command]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.stdout.split() == ["0", "0", "1"]


def test_a_lone_command_still_runs_by_its_name() -> None:
    # with only one module imported the app has one command; it must still be called by its name
    code = ("import sys, yigongti.cli as c; sys.argv = ['yigongti', 'check', '/no/such/folder']; c.main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "COLUMNS": "100"})
    assert done.returncode == 2, done.stderr
    assert "unexpected extra argument" not in done.stderr.lower()
    assert "/no/such/folder" in done.stdout + done.stderr


def test_unknown_names_and_help_load_everything() -> None:
    result = CliRunner().invoke(root.load_commands(["no-such-command"]), ["--help"])
    assert result.exit_code == 0
    for name in root.COMMANDS:
        assert name in result.output
