"""ICD-10 ranges (疾病编码范围) as the policy writes them: a prefix (``I10``, ``E11.9``) or a range of 3-character
categories (``I10-I15``, inclusive). One matcher for a code in Python here (pure) and its column expression for the
engine beside it in ``core.engine.icd_expr``, so that the chronic registry (care) and the two-disease benefit
(benefits) read a diagnosis the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["ICD_RANGE", "icd_matches"]

ICD_RANGE = re.compile(r"^[A-Z][0-9]{2}(\.?[0-9A-Z]{1,4})?(-[A-Z][0-9]{2})?$")
"""What a policy may write: ``I10``, ``E11.9``, ``I10-I15``."""


def icd_matches(code: str, patterns: Iterable[str]) -> bool:
    """Whether an ICD-10 code falls under one of ``patterns``: a prefix (``I10``) or a range of 3-character categories
    (``I10-I15``, inclusive)."""
    c = code.strip().upper().replace(".", "")
    for p in patterns:
        lo, _, hi = p.strip().upper().partition("-")
        if hi:
            if lo[:3] <= c[:3] <= hi[:3]:
                return True
        elif c.startswith(lo.replace(".", "")):
            return True
    return False
