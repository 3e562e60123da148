"""Resident identity numbers (居民身份证号码, GB 11643): 18 characters, ISO 7064 MOD 11-2 check digit."""

from __future__ import annotations

from datetime import date

__all__ = ["check_digit", "id_number_problems", "make_id_number", "mask_id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problems(id_number: str, *, birth_date: date | None, sex: str | None) -> list[str]:
    """Messages for what is wrong with an ID number, given the person's birth date and sex (empty = fine)."""
    s = id_number.strip().upper()
    if len(s) != 18:
        return [f"ID number must have 18 characters, has {len(s)} / 身份证号码应为18位"]
    if not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return ["ID number must be 17 digits and a digit or X / 身份证号码格式错误"]
    out: list[str] = []
    if check_digit(s[:17]) != s[17]:
        out.append(f"ID number check digit is {s[17]}, expected {check_digit(s[:17])} / 身份证号码校验位错误")
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        out.append(f"ID number holds no valid birth date ({s[6:14]}) / 身份证号码出生日期无效")
        born = None
    if born is not None and birth_date is not None and born != birth_date:
        out.append(f"ID number birth date {born.isoformat()} differs from birth_date {birth_date.isoformat()}"
                   " / 身份证号码出生日期与出生日期不符")
    if sex in ("M", "F"):
        odd = int(s[16]) % 2 == 1
        if odd != (sex == "M"):
            out.append(f"ID number sex digit {s[16]} does not agree with sex {sex} / 身份证号码性别位与性别不符")
    return out


def make_id_number(area6: str, born: date, serial3: int, sex: str) -> str:
    """A valid synthetic ID number: area code, birth date, serial whose last digit is odd for men, even for women."""
    serial = serial3 % 1000
    if (serial % 2 == 1) != (sex == "M"):
        serial = serial + 1 if serial < 999 else serial - 1
    first17 = f"{area6}{born:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def mask_id_number(id_number: str | None) -> str:
    """``513433199001011234`` -> ``5134**********1234`` for pages, exports and logs (脱敏)."""
    if not id_number:
        return ""
    s = id_number.strip()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]
