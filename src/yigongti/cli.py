"""The command line (命令行): files in, files out. Exit 0 on success, 2 on invalid input with every problem listed.

Each capability keeps its commands in its own ``cli`` module, which adds them to the shared Typer ``app``
(``yigongti.core.cli``) on import. ``yigongti COMMAND ...`` imports only the module of that command (importing all
twenty costs about 2 CPU s more, on every batch command); ``yigongti --help``, an unknown name and ``from
yigongti.cli import app`` import them all, in the order ``--help`` lists them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

__all__ = ["COMMANDS", "COMMAND_MODULES", "load_commands", "main"]  # and `app`, by __getattr__

COMMAND_MODULES = (
    "yigongti.demo.cli",
    "yigongti.benefits.check_cli",
    "yigongti.enrollment.cli",
    "yigongti.benefits.cli",
    "yigongti.interop.nhsa.cli",
    "yigongti.appraisal.cli",
    "yigongti.care.cli",
    "yigongti.public_health.cli",
    "yigongti.referral.cli",
    "yigongti.centres.cli",
    "yigongti.pharmacy.cli",
    "yigongti.workforce.cli",
    "yigongti.budget.cli.settle",
    "yigongti.budget.cli.package",
    "yigongti.budget.cli.run",
    "yigongti.budget.cli.calibrate",
    "yigongti.simulator.cli",
    "yigongti.core.policy_cli",
    "yigongti.platform.cli",
    "yigongti.app.cli",
)

# The module that registers each top-level command or group (a test checks this against what the modules register).
COMMANDS: dict[str, str] = {
    "demo": "yigongti.demo.cli",
    "check": "yigongti.benefits.check_cli",
    "enroll": "yigongti.enrollment.cli",
    "adjudicate": "yigongti.benefits.cli",
    "nhsa": "yigongti.interop.nhsa.cli",
    "appraise": "yigongti.appraisal.cli",
    "indicator-set": "yigongti.appraisal.cli",
    "care": "yigongti.care.cli",
    "public-health": "yigongti.public_health.cli",
    "referral": "yigongti.referral.cli",
    "centres": "yigongti.centres.cli",
    "pharmacy": "yigongti.pharmacy.cli",
    "workforce": "yigongti.workforce.cli",
    "settle": "yigongti.budget.cli.settle",
    "package": "yigongti.budget.cli.package",
    "run": "yigongti.budget.cli.run",
    "calibrate": "yigongti.budget.cli.calibrate",
    "simulate": "yigongti.simulator.cli",
    "simulate-pilot": "yigongti.simulator.cli",
    "policy": "yigongti.core.policy_cli",
    "load": "yigongti.platform.cli",
    "choose": "yigongti.platform.cli",
    "db": "yigongti.platform.cli",
    "serve": "yigongti.app.cli",
}


def load_commands(argv: Sequence[str] = ()) -> typer.Typer:
    """Import the module of the command ``argv`` names, or every command module when it names none we know."""
    from yigongti.core.cli import app as shared

    module = COMMANDS.get(argv[0]) if argv else None
    for name in (module,) if module is not None else COMMAND_MODULES:
        importlib.import_module(name)
    return shared


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the ``yigongti`` command."""
    load_commands(sys.argv[1:])()


if __name__ == "__main__":
    main()
