"""Loading the policy (政策配置) of a data folder or file.

A file's keys merge with the defaults key by key at every depth (``yigongti.core.policy.merge_policy``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yigongti.core.policy import (
    Policy,
    PolicyError,
    PolicyPath,
    merge_policy,
    override_paths,
    parse_policy_toml,
    policy_from_toml,
)
from yigongti.core.problems import InvalidInput, Problem, read_text_file

__all__ = ["explain_policy", "folder_policy", "load_policy", "policy_problems", "resolve_policy"]

SAME_AS_DEFAULT = "same as default / 同默认值"


def _read(path: Path) -> str:
    """The policy file's text (``problems.read_text_file``: not UTF-8, unreadable), its problem as PolicyError."""
    if not path.is_file():
        raise PolicyError(f"{path}: no such policy file / 配置文件不存在", (("",
                                                                      "no such policy file / 配置文件不存在"),))
    try:
        return read_text_file(path)
    except InvalidInput as exc:
        message = exc.problems[0].message
        raise PolicyError(f"{path}: {message}", (("", message),)) from exc


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` (TOML) merged over the defaults, or the defaults when ``path`` is None."""
    if path is None:
        return Policy()
    return policy_from_toml(_read(path), source=str(path))


def _at(data: Any, path: PolicyPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def explain_policy(path: Path | None) -> tuple[Policy, dict[PolicyPath, str]]:
    """The policy in ``path`` and, for every value the file sets, the file's name (来源): what ``policy show``
    writes after the value. A value the file sets to its default says so."""
    if path is None:
        return Policy(), {}
    raw = parse_policy_toml(_read(path), source=str(path))
    policy = merge_policy(raw, source=str(path))
    effective, defaults = policy.model_dump(mode="json"), Policy().model_dump(mode="json")
    marks: dict[PolicyPath, str] = {}
    for where in override_paths(raw):
        same = _at(effective, where) == _at(defaults, where)
        marks[where] = f"{path} ({SAME_AS_DEFAULT})" if same else str(path)
    return policy, marks


def folder_policy(folder: Path) -> Policy:
    """The policy of a data folder: its ``policy.toml`` when there is one, else the defaults."""
    path = Path(folder) / "policy.toml"
    return load_policy(path if path.is_file() else None)


def resolve_policy(folder: Path, path: Path | None) -> Policy:
    """The policy a command uses: the file given with ``--policy``, else the folder's ``policy.toml``, else defaults."""
    return load_policy(path) if path is not None else folder_policy(folder)


def policy_problems(path: Path) -> list[Problem]:
    """The problems of a folder's ``policy.toml``, one per bad key (the key as the column)."""
    if not path.is_file():
        return []
    try:
        load_policy(path)
    except PolicyError as exc:
        if not exc.problems:
            return [Problem(path.name, 0, "", str(exc))]
        return [Problem(path.name, 0, key, msg) for key, msg in exc.problems]
    return []
