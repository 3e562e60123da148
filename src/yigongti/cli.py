"""The command line (命令行): files in, files out. Exit 0 on success, 2 on invalid input with every problem listed.

Each capability keeps its commands in its own ``cli`` module, which adds them to the shared Typer ``app``
(``yigongti.core.cli``) on import; this root module imports them all, in the order ``--help`` lists them.
"""

from __future__ import annotations

import importlib

from yigongti.core.cli import app

__all__ = ["app", "main"]

COMMAND_MODULES = (
    "yigongti.demo.cli",
    "yigongti.datafolder.cli",
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
for _mod in COMMAND_MODULES:
    importlib.import_module(_mod)


def main() -> None:
    """Entry point of the ``yigongti`` command."""
    app()


if __name__ == "__main__":
    main()
