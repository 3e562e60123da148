"""Input problems (输入错误): one problem names the file, the row and the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SHOWN_CHARS", "Conflict", "InvalidInput", "InvalidRequest", "NotAllowed", "NotFound", "Problem", "Refused",
           "YigongtiError", "errors", "read_text_file", "shorten", "validation_message"]

SHOWN_CHARS = 60
"""At most this many characters of a bad value are echoed in a message (a 10 MB cell is not printed whole)."""


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as text for a message: cut to ``limit`` characters (with the full length said) and control characters
    shown as escapes, so that a message stays one readable line."""
    text = str(value)
    cut = text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} chars / 字符)"
    return "".join(c if c >= " " or c == "\t" else repr(c)[1:-1] for c in cut)


_IN_CHINESE = {
    "missing": "缺少必填的键",
    "extra_forbidden": "未知的键",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "float_type": "应为数字", "float_parsing": "应为数字", "finite_number": "应为有限的数",
    "decimal_type": "应为数字", "decimal_parsing": "应为数字",
    "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "string_type": "应为文本", "string_pattern_mismatch": "格式不符",
    "string_too_short": "太短", "string_too_long": "太长", "too_short": "太短", "too_long": "太长",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "应不大于 {le}",
    "literal_error": "应为 {expected} 之一", "enum": "应为 {expected} 之一",
    "list_type": "应为数组", "tuple_type": "应为数组",
    "date_type": "应为日期", "date_parsing": "应为日期", "date_from_datetime_parsing": "应为日期",
}
"""The Chinese of pydantic's error types that a configuration file meets (its own messages are English only)."""


def validation_message(error: Mapping[str, Any]) -> str:
    """One error of a pydantic ``ValidationError.errors()`` as a message in English and Chinese (``Input should be
    a valid number / 应为数字``). A validator's own message (``value_error``) is written in both already and kept as
    it is."""
    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown key / 未知的键"
    if kind in ("model_type", "model_attributes_type", "dict_type"):  # pydantic's names its class: not for users
        return "expected a table / 应为表"
    zh = _IN_CHINESE.get(kind)
    if zh is None or kind == "value_error":
        return msg
    try:
        zh = zh.format(**{k: str(v).replace("' or '", "'、'").replace(", '", "、'")
                          for k, v in dict(error.get("ctx") or {}).items()})
    except (KeyError, IndexError, ValueError):
        zh = zh.split(" {")[0]
    return f"{msg} / {zh}"


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that are errors (not warnings)."""
    return [p for p in problems if not p.warning]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input: ``file:row:column: message``.

    ``row`` is the 1-based line number in the file as a person sees it (the header is line 1, so the first data
    row is 2); 0 when the problem concerns the file as a whole. ``warning``: worth a look, but the input is valid
    (a text cell that a spreadsheet would run as a formula, 公式注入); shown as ``... WARNING / 警告: message``.
    """

    file: str
    row: int
    column: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        flag = "WARNING / 警告: " if self.warning else ""
        return f"{self.file}:{self.row}:{self.column}: {flag}{self.message}"


class YigongtiError(Exception):
    """The root of the errors yigongti raises on purpose (错误): bad input files, and requests a use case refuses."""


class InvalidInput(YigongtiError):
    """Raised when input has problems; carries all of them, so a user sees every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        shown = "\n".join(str(p) for p in self.problems[:50])
        more = f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        n = len(self.problems)
        super().__init__(f"{n} problem(s) in the input / 输入有 {n} 处错误:\n{shown}{more}")


class Refused(YigongtiError):
    """A request a use case refuses (拒绝); every adapter maps the kinds below the same way (``platform.deps``)."""


class NotFound(Refused, LookupError):
    """No such thing, or one the caller may not see (404)."""


class NotAllowed(Refused, PermissionError):
    """The caller's role or institution may not do this (403)."""


class Conflict(Refused):
    """Contradicts what is recorded: a workflow move it does not have, no place or stock left (409)."""


class InvalidRequest(Refused, ValueError):
    """A request that contradicts the registry or what it refers to (422), naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


def read_text_file(path: Path) -> str:
    """A UTF-8 text file (a byte-order mark allowed), or InvalidInput naming it: missing, a folder, unreadable or
    not UTF-8 (with the byte offset of the first bad byte)."""
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a file / 是目录而非文件" if path.is_dir() else "no such file / 文件不存在"
        raise InvalidInput([Problem(str(path), 0, "", what)])
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem(str(path), 0, "", f"not UTF-8 text (byte {exc.start:,}); save the file as UTF-8 / "
                                                      "文件不是 UTF-8 编码，请另存为 UTF-8")]) from exc
    except OSError as exc:
        raise InvalidInput([Problem(str(path), 0, "", f"cannot be read: {exc.strerror} / 无法读取")]) from exc
