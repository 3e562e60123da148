"""``yigongti policy show``: print the effective policy (政策配置)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import app, exits_on_invalid_input
from yigongti.core.policy import policy_to_toml
from yigongti.core.policy_files import load_policy

policy_app = typer.Typer(help="政策配置 / benefit and budget policy", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
@exits_on_invalid_input
def show(
    data: Annotated[Path | None, typer.Option("--data", help="a data folder whose policy.toml applies")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="a policy.toml file")] = None,
) -> None:
    """打印生效的政策 (默认值来自 docs/en/rules.md) / Print the effective policy (defaults from docs/en/rules.md)."""
    path = file if file is not None else (data / "policy.toml" if data is not None else None)
    print(policy_to_toml(load_policy(path)), end="")
