"""Loading indicator sets (指标体系): a packaged set by id, a TOML file by path, or a data folder's own set."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from yigongti.appraisal.indicators import (
    DEFAULT_SET,
    IndicatorSet,
    IndicatorSetError,
    indicator_set_from_toml,
)
from yigongti.core.problems import InvalidInput, read_text_file

__all__ = ["INDICATOR_SET_FILE", "folder_indicator_set", "load_indicator_set", "packaged_set_text"]

INDICATOR_SET_FILE = "indicator_set.toml"


def packaged_set_text(set_id: str = DEFAULT_SET) -> str:
    """The TOML text of a packaged set (a template for a county's own ``indicator_set.toml``)."""
    res = resources.files("yigongti.appraisal").joinpath("sets", f"{set_id}.toml")
    if not res.is_file():
        raise IndicatorSetError(f"no packaged indicator set {set_id!r} / 没有该指标体系")
    return res.read_text(encoding="utf-8")


def load_indicator_set(name_or_path: str | Path = DEFAULT_SET) -> IndicatorSet:
    """A packaged set by id (``national-2024``) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise IndicatorSetError(f"{path}: no such indicator set file / 指标体系文件不存在")
        try:
            text = read_text_file(path)  # not UTF-8, unreadable: named
        except InvalidInput as exc:
            raise IndicatorSetError(f"{path}: {exc.problems[0].message} / 指标体系文件无法读取") from exc
        return indicator_set_from_toml(text, source=str(path))
    return indicator_set_from_toml(packaged_set_text(str(name_or_path)), source=f"{name_or_path}.toml")


def folder_indicator_set(folder: Path) -> IndicatorSet:
    """The folder's ``indicator_set.toml`` when there is one, else the packaged national-2024 set."""
    path = Path(folder) / INDICATOR_SET_FILE
    return load_indicator_set(path if path.is_file() else DEFAULT_SET)
