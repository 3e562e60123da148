"""The platform's code systems as data (编码体系): ``codes.toml`` in this package, read into typed tables.

insutype (险种类型), med_type (医疗类别), psn_type (人员类别), gend (性别), infno (交易编号), the settlement list's
adm_way (入院途径), dscg_way (离院方式) and diag_type (诊断类别), the GB/T 2260 province-level division codes and the
institution code letters. Every code comes with its Chinese label and its
English one, so that a message or a page shows the code with what it means.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CodeSystems", "Entry", "codes_from_toml", "packaged_codes"]


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
        provinces={str(k): str(v) for k, v in raw.get("province", {}).items()},
        institution_kinds={str(k): str(v) for k, v in raw.get("institution_kind", {}).items()},
        adm_way=_system(raw, "adm_way"), dscg_way=_system(raw, "dscg_way"), diag_type=_system(raw, "diag_type"),
        referral_window_days=_window(raw),
    )


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
