"""``yigongti policy show``: print the effective policy (政策配置)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import app, exits_on_invalid_input
from yigongti.core.policy import PolicyError, policy_to_toml
from yigongti.core.policy_files import explain_policy

policy_app = typer.Typer(help="政策配置 / benefit and budget policy", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

HEADER = ("# 生效的政策：行尾注明文件的值由该文件设定，其余为默认值\n"
          "# Effective policy: a value followed by a file name was set in that file; the others are defaults.\n")


@policy_app.command("show")
@exits_on_invalid_input
def show(
    data: Annotated[Path | None, typer.Option("--data", help="a data folder whose policy.toml applies")] = None,
    file: Annotated[Path | None, typer.Option("--policy", "--file", help="a policy.toml file")] = None,
) -> None:
    """打印生效的政策，并标注覆盖默认值的文件 / Print the effective policy, marking the values a file sets."""
    path = file
    if path is None and data is not None:
        if not data.is_dir():
            raise PolicyError(f"{data}: no such data folder / 数据目录不存在")
        path = data / "policy.toml" if (data / "policy.toml").is_file() else None
    policy, marks = explain_policy(path)
    print((HEADER if path is not None else "") + policy_to_toml(policy, marks=marks), end="")


__all__ = ["policy_app", "show"]  # the commands this module adds
