"""The command line (命令行): files in, files out. Exit 0 on success, 2 on invalid input with every problem listed.

Each topic lives in its own module that adds its commands to ``app``.
"""

from __future__ import annotations

import typer

from yigongti.cli import _app

__all__ = ["app", "main"]

app = _app.app

# Topic modules register their commands on import.
from yigongti.cli import check as _check  # noqa: E402,F401
from yigongti.cli import policy as _policy  # noqa: E402,F401


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    typer.run(main)
