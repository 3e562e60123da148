"""Input problems (输入错误): one problem names the file, the row and the field."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InvalidInput", "Problem"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input: ``file:row:column: message``.

    ``row`` is the 1-based line number in the file as a person sees it (the header is line 1, so the first data
    row is 2); 0 when the problem concerns the file as a whole.
    """

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class InvalidInput(Exception):
    """Raised when input has problems; carries all of them, so a user sees every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        shown = "\n".join(str(p) for p in self.problems[:50])
        more = f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the input / 输入有 {len(self.problems)} 处错误:\n{shown}{more}")
