"""The command line (命令行): files in, files out. Exit 0 on success, 2 on invalid input with every problem listed.

Each topic lives in its own module of this package (``check.py``, ``demo.py``, ``enroll.py`` ...) that adds its
commands to the shared Typer ``app`` on import; this module imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil

from yigongti.cli._app import app

__all__ = ["app", "main"]

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
    importlib.import_module(f"{__name__}.{_mod}")


def main() -> None:
    """Entry point of the ``yigongti`` command."""
    app()
