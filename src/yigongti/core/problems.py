"""Input problems (输入错误): one problem names the file, the row and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SHOWN_CHARS", "Conflict", "InvalidInput", "InvalidRequest", "NotAllowed", "NotFound", "Problem", "Refused",
           "YigongtiError", "errors", "read_text_file", "shorten"]

SHOWN_CHARS = 60
"""At most this many characters of a bad value are echoed in a message (a 10 MB cell is not printed whole)."""


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as text for a message: cut to ``limit`` characters (with the full length said) and control characters
    shown as escapes, so that a message stays one readable line."""
    text = str(value)
    cut = text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} chars / 字符)"
    return "".join(c if c >= " " or c == "\t" else repr(c)[1:-1] for c in cut)


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
