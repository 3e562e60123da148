"""Loading the policy (政策配置) of a data folder or file."""

from __future__ import annotations

from pathlib import Path

from yigongti.core.policy import Policy, PolicyError, policy_from_toml
from yigongti.core.problems import Problem

__all__ = ["folder_policy", "load_policy", "policy_problems", "resolve_policy"]


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` (TOML), or the docs/en/rules.md defaults when ``path`` is None."""
    if path is None:
        return Policy()
    if not path.is_file():
        raise PolicyError(f"{path}: no such policy file / 配置文件不存在")
    return policy_from_toml(path.read_text(encoding="utf-8-sig"), source=str(path))


def folder_policy(folder: Path) -> Policy:
    """The policy of a data folder: its ``policy.toml`` when there is one, else the defaults."""
    path = Path(folder) / "policy.toml"
    return load_policy(path if path.is_file() else None)


def resolve_policy(folder: Path, path: Path | None) -> Policy:
    """The policy a command uses: the file given with ``--policy``, else the folder's ``policy.toml``, else defaults."""
    return load_policy(path) if path is not None else folder_policy(folder)


def policy_problems(path: Path) -> list[Problem]:
    if not path.is_file():
        return []
    try:
        load_policy(path)
    except PolicyError as exc:
        return [Problem(path.name, 0, "", str(exc))]
    return []
