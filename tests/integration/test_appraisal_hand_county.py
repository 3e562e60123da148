"""Every indicator of the national-2024 set on a small hand-built county (tests/integration/appraisal_county/).

The county: consortia A (county hospital A-H, TCM hospital A-Z, township A-T1 with villages V1, V2) and B (B-H, B-T1,
B-T1-V1), a city hospital X3 in another county; six persons; 11 claims in 2026 and 12 in 2025 (one in every month);
every appraisal table.
Expected values were worked out by hand (the arithmetic is in the comments).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.service import AppraisalResult, appraise_data, appraise_folder
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import read_folder

HERE = Path(__file__).parent / "appraisal_county"
NC = None  # not computable

# (scope, indicator) -> (numerator, denominator, value); value None: not computable
EXPECTED: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {
    # county 510001: persons P1..P6; providers: every institution but X3
    ("510001", "1.1"): ("2", "3", "66.67"),          # A: 1.1.a yes, 1.1.b no; B: 1.1 yes
    ("510001", "1.2"): ("1", "1", "100.00"),
    ("510001", "2.1"): ("3", "6", "5000.00"),        # s1, s2, s6 (s3 junior, s4 from grade 1, s5 151 days)
    ("510001", "2.2"): ("2", "6", "3333.33"),        # r1 imaging, r2 ecg (r3 pathology, r4 2025)
    ("510001", "2.2b"): ("1", "3", "33.33"),         # V1 has ECG; V2 quantity 0; B-T1-V1 only in 2025
    ("510001", "2.3"): ("82352.94", "113333.33", "0.73"),  # 1.4M/17 over 17M/150
    ("510001", "3.1"): ("5", "6", "83.33"),          # c01 c02 c08 c09 c11 of c01 c02 c05 c08 c09 c11
    ("510001", "3.2"): ("11320", "16920", "66.90"),  # all fund but c06 200 and c07 5400
    ("510001", "3.3"): ("1220", "11320", "10.78"),   # 80+150+900+30+60+0
    ("510001", "4.1"): ("14000", "3", "4666.67"),    # c03 5000 + c04 1000 + c10 8000
    ("510001", "4.1g"): ("666.67", "4000", "16.67"),  # 2025: p01 4000 / 1
    ("510001", "4.2"): ("3", "4", "75.00"),
    ("510001", "4.3"): ("1", "6", "16.67"),          # c05 at the TCM hospital
    ("510001", "5.1"): ("3", "3", "100.00"),         # managed P1 (c03, c04), P4 (none), P5 (c10)
    ("510001", "5.2"): ("1", "3", "33333.33"),       # P2 died of C34 at 36; P4 at 75 is not premature
    ("510001", "S1"): ("5", "7", "71.43"),
    ("510001", "S2"): ("6", "7", "85.71"),           # c06 at X3 is outside the county
    ("510001", "S3"): ("1", "1", "1.00"),            # c03 (A-H) referred from c02 (A-T1)
    ("510001", "S4"): ("1", "1", "1.00"),            # c04 (A-T1) referred from c03 (A-H)
    ("510001", "S4b"): (NC, NC, NC),                 # no referrals table (test_referral_indicators hands one in)
    ("510001", "S5"): ("1", "2", "50.00"),           # county-tier admissions c03, c10
    ("510001", "S6"): ("19960", "4390", "454.67"),   # 24350 vs 4000+100+200 + 9 x 10 (P6, q01..q12)
    ("510001", "S7"): ("16920", "24350", "69.49"),
    ("510001", "S8"): ("1220", "16920", "7.21"),
    ("510001", "S9"): ("2", "2", "100.00"),          # P1, P5: 4 follow-ups each
    ("510001", "S10"): ("1", "2", "50.00"),          # P1 last true, P5 last false
    ("510001", "S11"): ("0", "2", "0.00"),           # P4 2, P5 1 follow-ups
    ("510001", "S12"): ("1", "2", "50.00"),          # P4 last false, P5 true
    ("510001", "S13"): ("1", "6", "16666.67"),       # P1 I63 new; P3 C34 already in 2025
    ("510001", "S14"): ("19", "3", "6.33"),          # 5 + 4 + 10 days (c07 is at X3)
    ("510001", "S15"): ("3", "4", "75.00"),
    ("510001", "S16"): ("3", "6", "50.00"),          # P3, P4, P5 (P1's contract ended 2025)
    # consortium A: P1..P4; A-H, A-Z, A-T1, A-T1-V1, A-T1-V2
    ("A", "1.1"): ("1", "2", "50.00"),
    ("A", "1.2"): ("1", "1", "100.00"),
    ("A", "1.3"): (NC, NC, NC),                      # only a 2025 item
    ("A", "2.1"): ("2", "4", "5000.00"),
    ("A", "2.2"): ("2", "4", "5000.00"),
    ("A", "2.2b"): ("1", "2", "50.00"),
    ("A", "2.3"): ("83333.33", "120000", "0.69"),
    ("A", "3.1"): ("4", "5", "80.00"),               # c11 (a B enrollee at A-T1) counts for the provider
    ("A", "3.2"): ("5260", "10860", "48.43"),
    ("A", "3.3"): ("1160", "5260", "22.05"),
    ("A", "4.1"): ("6000", "2", "3000.00"),
    ("A", "4.1g"): ("-1000", "4000", "-25.00"),
    ("A", "4.2"): ("2", "3", "66.67"),
    ("A", "4.3"): ("1", "5", "20.00"),
    ("A", "5.1"): ("2", "2", "100.00"),
    ("A", "5.2"): ("1", "2", "50000.00"),
    ("A", "S1"): ("3", "5", "60.00"),
    ("A", "S2"): ("4", "5", "80.00"),
    ("A", "S4b"): (NC, NC, NC),
    ("A", "S5"): ("1", "1", "100.00"),
    ("A", "S6"): ("12050", "4100", "293.90"),
    ("A", "S7"): ("10860", "16150", "67.24"),
    ("A", "S8"): ("1160", "10860", "10.68"),
    ("A", "S9"): ("1", "1", "100.00"),
    ("A", "S10"): ("1", "1", "100.00"),
    ("A", "S11"): ("0", "1", "0.00"),
    ("A", "S12"): ("0", "1", "0.00"),
    ("A", "S13"): ("1", "4", "25000.00"),
    ("A", "S14"): ("9", "2", "4.50"),
    ("A", "S15"): ("2", "3", "66.67"),
    ("A", "S16"): ("2", "4", "50.00"),
    # consortium B: P5, P6; B-H, B-T1, B-T1-V1
    ("B", "1.1"): ("1", "1", "100.00"),
    ("B", "1.2"): (NC, NC, NC),
    ("B", "2.1"): ("1", "2", "5000.00"),
    ("B", "2.2"): ("0", "2", "0.00"),
    ("B", "2.2b"): ("0", "1", "0.00"),
    ("B", "2.3"): ("80000", "100000", "0.80"),
    ("B", "3.1"): ("1", "1", "100.00"),
    ("B", "3.2"): ("6060", "6060", "100.00"),
    ("B", "3.3"): ("60", "6060", "0.99"),
    ("B", "4.1"): ("8000", "1", "8000.00"),
    ("B", "4.1g"): (NC, NC, NC),                     # no in-county admission in 2025
    ("B", "4.2"): ("1", "1", "100.00"),
    ("B", "4.3"): ("0", "1", "0.00"),
    ("B", "5.1"): ("1", "1", "100.00"),
    ("B", "5.2"): ("0", "1", "0.00"),
    ("B", "S3"): ("0", "1", "0.00"),
    ("B", "S5"): ("0", "1", "0.00"),
    ("B", "S6"): ("7910", "290", "2727.59"),
    ("B", "S7"): ("6060", "8200", "73.90"),
    ("B", "S10"): ("0", "1", "0.00"),
    ("B", "S12"): ("1", "1", "100.00"),
    ("B", "S13"): ("0", "2", "0.00"),
    ("B", "S14"): ("10", "1", "10.00"),
    ("B", "S15"): ("1", "1", "100.00"),
    ("B", "S16"): ("1", "2", "50.00"),
    # institutions
    ("A-H", "S1"): ("3", "5", "60.00"),              # a county-tier member counts all A's enrollees
    ("A-H", "S4"): ("1", "1", "1.00"),
    ("A-H", "S5"): ("1", "1", "100.00"),
    ("A-H", "S14"): ("5", "1", "5.00"),
    ("A-H", "S15"): ("1", "1", "100.00"),
    ("A-T1", "S3"): ("1", "1", "1.00"),
    ("A-T1", "S15"): ("1", "2", "50.00"),
    ("A-T1", "2.1"): ("1", "4", "2500.00"),
    ("A-T1", "2.2"): ("1", "4", "2500.00"),
    ("A-T1-V1", "2.1"): ("1", "3", "3333.33"),
    ("A-T1-V2", "S1"): ("1", "1", "100.00"),
    ("A-T1-V2", "S16"): ("1", "1", "100.00"),
    ("A-T1-V2", "5.1"): ("0", "1", "0.00"),
    ("A-T1-V2", "2.1"): ("0", "1", "0.00"),
    ("A-T1-V2", "S5"): (NC, "0", NC),                # no county-tier admissions: zero denominator
}


@pytest.fixture(scope="module")
def result() -> AppraisalResult:
    return appraise_folder(HERE, 2026, Policy())


def _rows(table: pa.Table) -> dict[tuple[str, str], dict[str, object]]:
    return {(r["scope"], r["indicator"]): r for r in table.to_pylist()}


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]}:{k[1]}")
def test_indicator_matches_hand_computation(result: AppraisalResult, key: tuple[str, str]) -> None:
    row = _rows(result.indicators)[key]
    num, den, value = EXPECTED[key]
    if value is None:
        assert row["status"] == "not_computable" and row["value"] is None and row["reason"]
        if den is not None:
            assert row["denominator"] == den
        return
    assert (row["numerator"], row["denominator"], row["value"], row["status"]) == (num, den, value, "ok")


def test_every_indicator_of_the_set_is_checked_for_the_county_and_a_consortium() -> None:
    ids = {i.id for i in load_indicator_set().indicators}
    assert ids - {"1.3"} <= {i for s, i in EXPECTED if s == "510001"}
    assert ids <= {i for s, i in EXPECTED if s == "A"} | {"S3", "S4"}


def test_zero_denominator_and_missing_data_are_not_computable_with_a_reason(result: AppraisalResult) -> None:
    rows = _rows(result.indicators)
    assert "division by zero" in str(rows[("B", "4.1g")]["reason"])
    assert "denominator is 0" in str(rows[("A-T1-V2", "S5")]["reason"])
    assert "no checklist item" in str(rows[("A", "1.3")]["reason"])


def test_missing_tables_make_their_indicators_not_computable_not_zero(tmp_path: Path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    for name in ("followups", "surveys", "checklist"):
        (folder / f"{name}.csv").unlink()
    data = read_folder(folder)
    res = appraise_data(data, 2026, Policy(), data["designations"], None)
    rows = _rows(res.indicators)
    for ind in ("S9", "S15", "1.1", "3.2", "S7"):
        r = rows[("A", ind)]
        assert r["status"] == "not_computable" and r["value"] is None, ind
    assert "followups" in str(rows[("A", "S9")]["reason"])
    assert rows[("A", "4.2")]["value"] == "66.67"  # claims-only indicators still computed


def test_scores_and_grades(result: AppraisalResult) -> None:
    scores = {r["unit_id"]: r for r in result.scores.to_pylist()}
    assert set(scores) >= {"A", "B", "A-H", "A-T1", "A-T1-V1", "A-T1-V2", "B-T1-V1"}
    for r in scores.values():
        assert 0 <= float(r["score"]) <= 100
        grade = "excellent" if float(r["score"]) >= 90 else "qualified" if float(r["score"]) >= 60 else "unqualified"
        assert r["grade"] == grade
    assert "510001" not in scores  # the county is monitored, not scored
    pts = [r for r in result.points.to_pylist() if r["unit_id"] == "A" and r["points"] is not None]
    weights = sum(float(r["weight"]) for r in pts)
    earned = sum(float(r["points"]) for r in pts)
    assert float(scores["A"]["score"]) == pytest.approx(earned * 100 / weights, abs=0.006)


def test_growth_needs_a_whole_year_of_claims_the_year_before(tmp_path: Path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    lines = (folder / "claims.csv").read_text(encoding="utf-8").splitlines()
    (folder / "claims.csv").write_text("\n".join(x for x in lines if not x.startswith("q")) + "\n", encoding="utf-8")
    res = appraise_folder(folder, 2026, Policy())
    rows = _rows(res.indicators)
    assert rows[("A", "S6")]["status"] == "not_computable" and "the year before" in str(rows[("A", "S6")]["reason"])
    assert res.previous is None and any("every month" in n for n in res.notes)
    assert rows[("A", "S7")]["value"] == "67.24"


def test_last_years_indicators_for_the_change_column(result: AppraisalResult) -> None:
    assert result.previous is not None
    prev = _rows(result.previous)
    assert prev[("B", "S1")]["value"] == "90.00"  # 2025: q01..q12 of P6 at B-T1-V1, p03 of P5 at B-H
    assert prev[("A", "4.2")]["value"] == "100.00"  # p01: one in-county admission
    assert prev[("A", "S7")]["status"] == "not_computable"  # no adjudicated claims of 2025
    assert set(result.previous_scores) >= {"A", "B"}
    from yigongti.appraisal.report import appraisal_html, appraisal_xlsx

    assert "同比" in appraisal_html(result)
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(appraisal_xlsx(result))).worksheets[0]
    head = [c.value for c in ws[1]]
    a_row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "A")
    change = a_row[head.index("得分同比 score change")]
    expected = float(next(r["score"] for r in result.scores.to_pylist() if r["unit_id"] == "A")) - float(
        result.previous_scores["A"])
    assert change == pytest.approx(expected, abs=1e-9)
    # 4.2 of A: 66.67 this year, 100.00 last year -> change -33.33 percentage points
    assert a_row[head.index("4.2 同比增减 change")] == pytest.approx(-33.33)


def _problems_with(tmp_path: Path, rows: dict[str, str]) -> InvalidInput:
    """The problems of appraising the county with ``rows`` appended to its files (file name -> CSV lines)."""
    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    for name, lines in rows.items():
        with (folder / name).open("a", encoding="utf-8") as f:
            f.write(lines)
    with pytest.raises(InvalidInput) as exc:
        appraise_folder(folder, 2026, Policy())
    return exc.value


def test_unknown_ids_in_the_appraisal_tables_are_input_problems(tmp_path: Path) -> None:
    text = str(_problems_with(tmp_path, {"surveys.csv": "v9,NOPE,2026-01-01,true\n",
                                         "checklist.csv": "Z,2026,1.1,true\n"}))
    assert "surveys.csv:6:inst_id" in text and "checklist.csv:7:unit_id" in text


def test_unknown_persons_and_institutions_of_several_tables_are_named(tmp_path: Path) -> None:
    """The columns checked against the same ids are looked up together (one hash table of the persons' ids): each
    problem still names its own file, row, column and id."""
    exc = _problems_with(tmp_path, {
        "followups.csv": "P1,A-T1-V1,2026-03-01,hypertension,false\nNOBODY,NOWHERE,2026-03-02,diabetes,true\n",
        "deaths.csv": "GHOST,2026-10-01,I21.0\n", "contracts.csv": "P1,ELSEWHERE,2026-01-01,\n"})
    where = [f"{p.file}:{p.row}:{p.column}" for p in exc.problems]
    assert where == ["contracts.csv:6:inst_id", "deaths.csv:4:person_id", "followups.csv:15:inst_id",
                     "followups.csv:15:person_id"]
    assert "'NOBODY' is not a known id" in str(exc) and "'GHOST'" in str(exc)


def test_checked_tables_are_not_checked_again_and_give_the_same_appraisal(tmp_path: Path) -> None:
    """``checked=True`` (the simulator: the tables its prepared year checked) gives the same appraisal, and indeed
    skips the references' check: an unknown id that the default refuses passes."""
    from yigongti.benefits.service import settlement_inputs

    data = read_folder(HERE)
    des, adj = settlement_inputs(data, 2026, Policy())
    plain = appraise_data(data, 2026, Policy(), des, adj)
    again = appraise_data(data, 2026, Policy(), des, adj, checked=True)
    for name in ("indicators", "scores", "points"):
        assert getattr(again, name).equals(getattr(plain, name)), name
    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    with (folder / "surveys.csv").open("a", encoding="utf-8") as f:
        f.write("v9,NOPE,2026-01-01,true\n")
    bad = read_folder(folder)
    with pytest.raises(InvalidInput):
        appraise_data(bad, 2026, Policy(), des, adj)
    assert appraise_data(bad, 2026, Policy(), des, adj, checked=True).scores.num_rows == plain.scores.num_rows


def test_a_set_of_one_indicator_computes_just_what_it_needs(tmp_path: Path) -> None:
    res = _appraise_with_one_indicator(tmp_path, """
id = "5.1"
group = "5"
name_zh = "慢病健康管理人群住院率"
name_en = "Admission rate of managed patients"
numerator = "admissions_managed"
denominator = "managed_chronic"
unit = "%"
direction = "lower"
target = 15
""")
    rows = _rows(res.indicators)
    assert (rows[("A", "5.1")]["numerator"], rows[("A", "5.1")]["value"]) == ("2", "100.00")
    assert (rows[("510001", "5.1")]["numerator"], rows[("510001", "5.1")]["denominator"]) == ("3", "3")
    scores = {r["unit_id"]: r["score"] for r in res.scores.to_pylist()}
    assert scores["A"] == "15.00"  # lower is better: 15 / 100 of the weight


def test_a_set_reading_the_follow_ups_but_not_the_admissions_of_managed_patients(tmp_path: Path) -> None:
    """The follow-ups are there and the claims too, the set asks for the managed patients only: computed without the
    admissions of managed patients, and the same as the national set gives for that indicator."""
    res = _appraise_with_one_indicator(tmp_path, """
id = "5.3"
group = "5"
name_zh = "高血压规范管理率"
name_en = "Standard hypertension management"
numerator = "standard_hypertension"
denominator = "managed_hypertension"
unit = "%"
target = 60
""")
    full = appraise_folder(HERE, 2026, Policy())
    want = {(r["scope"], r["numerator"], r["denominator"], r["value"]) for r in full.indicators.to_pylist()
            if r["indicator"] == _national_id("standard_hypertension")}
    assert {(r["scope"], r["numerator"], r["denominator"], r["value"]) for r in res.indicators.to_pylist()} == want


def _national_id(numerator: str) -> str:
    return next(i.id for i in load_indicator_set().indicators if i.numerator == numerator)


def _appraise_with_one_indicator(tmp_path: Path, indicator: str) -> AppraisalResult:
    """The hand county appraised with a set of one indicator of group 5 (its TOML lines given), weight 100."""
    text = ('id = "one"\nversion = "1"\nname_zh = "单项"\nname_en = "one"\n'
            '[[groups]]\nid = "5"\nname_zh = "保健康"\nname_en = "Health"\n'
            f'[[indicator]]{indicator}weight = 100\ninstitution_weight = 100\nsource = "test"\n')
    (tmp_path / "one.toml").write_text(text, encoding="utf-8")
    return appraise_folder(HERE, 2026, Policy(), indicator_set=load_indicator_set(tmp_path / "one.toml"))
