"""``yigongti nhsa import`` on the demo county as a bureau receives it (``yigongti demo --format nhsa``) and on
malformed exports: real files (GB18030 CSV with Chinese labels, UTF-8 CSV, Excel, JSON lines), the real command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from typer.testing import CliRunner

from yigongti.benefits.domain import RULE_TEXT, Rule
from yigongti.cli import app
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import read_folder
from yigongti.demo import DEFAULT_YEAR
from yigongti.demo.county import write_demo_county
from yigongti.interop.nhsa.domain import FIELD_BY_NAME, canonical_field
from yigongti.interop.nhsa.records import is_settlement_list
from yigongti.interop.nhsa.report import comparison_html, comparison_xlsx
from yigongti.interop.nhsa.sample import CANCEL_EVERY, SAMPLE_FILE, SAMPLE_LIST_FILE, write_nhsa_folder
from yigongti.interop.nhsa.service import (
    EXPORT_DIR,
    RESULT_FILE,
    TOP_DIFFERENCES,
    export_results,
    import_records,
)
from yigongti.interop.nhsa.service import (
    LIST_FILE as EXPORT_LIST_FILE,
)

PERSONS = 1200
LIST_FILE = SAMPLE_LIST_FILE


def _text(path: Path, encoding: str = "utf8") -> pa.Table:
    opts = pacsv.ReadOptions(encoding=encoding)
    names = pacsv.read_csv(path, read_options=opts).column_names
    return pacsv.read_csv(path, read_options=opts, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the demo county as CSV, the same county as the bureau receives it)."""
    base = tmp_path_factory.mktemp("nhsa")
    plain, nhsa = base / "plain", base / "nhsa"
    write_demo_county(plain, persons=PERSONS, fmt="csv")
    result = CliRunner().invoke(app, ["demo", "--out", str(nhsa), "--persons", str(PERSONS), "--format", "nhsa"])
    assert result.exit_code == 0, result.output
    return plain, nhsa


def _records(nhsa: Path) -> pa.Table:
    """The sample's records with the interface's field names (UTF-8)."""
    t = _text(nhsa / SAMPLE_FILE, "gb18030")
    return t.rename_columns([canonical_field(n) or n for n in t.column_names])


def _list_parts(path: Path) -> dict[str, pa.Table]:
    """The sample's settlement lists (4101 JSON lines) as three tables, one a part, as a bureau's export has them."""
    parts: dict[str, list[dict[str, str]]] = {"setlinfo": [], "diseinfo": [], "oprninfo": []}
    for line in path.read_text("utf-8").splitlines():
        body = json.loads(line)["input"]
        head = body["setlinfo"]
        parts["setlinfo"].append(head)
        for part in ("diseinfo", "oprninfo"):
            parts[part] += [{"setl_id": head["setl_id"], "psn_no": head["psn_no"], **item} for item in body[part]]
    return {k: pa.Table.from_pylist(v) for k, v in parts.items()}


def _write_csv(t: pa.Table, path: Path, *, encoding: str = "utf-8") -> Path:
    import io

    buf = io.BytesIO()
    pacsv.write_csv(t, buf)
    path.write_bytes(buf.getvalue().decode("utf-8").encode(encoding))
    return path


def _import(data: Path, out: Path, *records: Path, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    args = ["nhsa", "import", "--data", str(data), "--out", str(out), *extra]
    for r in records:
        args += ["--records", str(r)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_the_bureau_files_import_back_to_the_demo_claims(county: tuple[Path, Path], tmp_path: Path) -> None:
    plain, nhsa = county
    assert not (nhsa / "claims.csv").exists()
    code, output = _import(nhsa, tmp_path, nhsa / SAMPLE_FILE, extra=("--settlement-list", str(nhsa / LIST_FILE)))
    assert code == 0, output
    got = _text(tmp_path / "claims.csv")
    want = _text(plain / "claims.csv")
    assert got.num_rows == want.num_rows
    # diagnoses of admissions and referrals come with the settlement lists (4101); unreasonable is the bureau's
    # own audit finding
    assert any(want.column("referral_from").to_pylist())
    same = [c for c in want.column_names if c != "unreasonable"]
    for c in same:
        assert got.column(c).to_pylist() == want.column(c).to_pylist(), c
    report = _text(tmp_path / "import_report.csv")
    records = _records(nhsa)
    lists = _list_parts(nhsa / LIST_FILE)
    list_rows = sum(t.num_rows for t in lists.values())
    assert report.num_rows == records.num_rows + list_rows  # every record and list row accounted for
    outcomes = report.column("outcome").to_pylist()
    redone = -(-want.num_rows // CANCEL_EVERY)
    assert outcomes.count("imported") == want.num_rows + list_rows
    assert outcomes.count("cancelled") == 2 * redone  # the wrong settlement and its cancellation
    assert outcomes.count("refused") == 0
    fund = sum(round(float(v) * 100) for v in got.column("nhsa_fund_paid").to_pylist())
    assert fund > 0


def test_imported_claims_are_valid_contract_claims(county: tuple[Path, Path], tmp_path: Path) -> None:
    _, nhsa = county
    data = tmp_path / "data"
    shutil.copytree(nhsa, data)
    code, output = _import(data, data, data / SAMPLE_FILE)
    assert code == 0, output
    folder = read_folder(data, tables=["institutions", "persons", "claims"])
    assert folder["claims"].num_rows > 0
    assert "nhsa_fund_paid" in folder["claims"].column_names


@pytest.fixture(scope="module")
def sample_claims(county: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The claims imported from the sample as the bureau's system writes it (GB18030 CSV, Chinese labels): once for
    the module, the reference of every other form of the same records."""
    out = tmp_path_factory.mktemp("nhsa-ref")
    code, output = _import(county[1], out, county[1] / SAMPLE_FILE)
    assert code == 0, output
    return _text(out / "claims.csv")


@pytest.mark.parametrize("form", ["utf8-names", "xlsx", "jsonl", "two-files"])
def test_every_export_form_gives_the_same_claims(county: tuple[Path, Path], sample_claims: pa.Table, tmp_path: Path,
                                                 form: str) -> None:
    _, nhsa = county
    records = _records(nhsa)
    if form == "utf8-names":
        files = [_write_csv(records.rename_columns([n.upper() for n in records.column_names]), tmp_path / "r.csv")]
    elif form == "two-files":
        half = records.num_rows // 2
        files = [_write_csv(records.slice(0, half), tmp_path / "a.csv"),
                 _write_csv(records.slice(half), tmp_path / "b.csv", encoding="gb18030")]
    elif form == "xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append([FIELD_BY_NAME[n].label for n in records.column_names])
        for row in records.to_pylist():
            ws.append([float(v) if k == "medfee_sumamt" and v else v for k, v in row.items()])
        wb.save(tmp_path / "r.xlsx")
        files = [tmp_path / "r.xlsx"]
    else:
        with (tmp_path / "r.jsonl").open("w", encoding="utf-8") as f:
            for row in records.to_pylist():
                infno = row.pop("infno")
                if infno in ("2208", "2305"):
                    msg = {"infno": infno, "input": {"data": {k: v for k, v in row.items() if v}}}
                else:
                    msg = {"infno": infno, "output": {"setlinfo": {k: v for k, v in row.items() if v}}}
                f.write(json.dumps(msg, ensure_ascii=False) + "\n")
        files = [tmp_path / "r.jsonl"]
    code, output = _import(nhsa, tmp_path / "out", *files)
    assert code == 0, output
    assert _text(tmp_path / "out" / "claims.csv").equals(sample_claims)


def _small(county: tuple[Path, Path], tmp_path: Path, rows: int = 120) -> pa.Table:
    return _records(county[1]).slice(0, rows)


def _live(t: pa.Table) -> list[int]:
    """Indices of the settlements that no record cancels (the sample cancels those whose setl_id ends in R)."""
    return [i for i, (v, s) in enumerate(zip(t.column("infno").to_pylist(), t.column("setl_id").to_pylist(),
                                             strict=True)) if v in ("2207", "2304") and not s.endswith("R")]


def _set(t: pa.Table, row: int, name: str, value: str) -> pa.Table:
    col = t.column(name).to_pylist()
    col[row] = value
    return t.set_column(t.column_names.index(name), name, pa.array(col, pa.string()))


def test_malformed_exports_exit_2_naming_file_row_and_column(county: tuple[Path, Path], tmp_path: Path) -> None:
    t = _small(county, tmp_path)
    settles = _live(t)
    bad = _set(_set(t, settles[3], "medfee_sumamt", "12.345"), settles[4], "begndate", "2026-13-01")
    bad = _set(bad, settles[5], "psn_no", "")
    path = _write_csv(bad, tmp_path / "bad.csv")
    code, output = _import(county[1], tmp_path / "out", path)
    assert code == 2, output
    assert f"bad.csv:{settles[3] + 2}:medfee_sumamt:" in output
    assert f"bad.csv:{settles[4] + 2}:begndate:" in output
    assert f"bad.csv:{settles[5] + 2}:psn_no:" in output
    assert not (tmp_path / "out" / "claims.csv").exists()


def test_a_missing_column_is_named_on_the_header_row(county: tuple[Path, Path], tmp_path: Path) -> None:
    path = _write_csv(_small(county, tmp_path).drop_columns(["inscp_scp_amt"]), tmp_path / "cols.csv")
    code, output = _import(county[1], tmp_path / "out", path)
    assert code == 2 and "cols.csv:1:inscp_scp_amt: missing column" in output


def test_a_cancellation_without_its_original_is_an_error(county: tuple[Path, Path], tmp_path: Path) -> None:
    t = _small(county, tmp_path)
    cancels = [i for i, v in enumerate(t.column("infno").to_pylist()) if v in ("2208", "2305")]
    assert cancels
    path = _write_csv(_set(t, cancels[0], "setl_id", "NO-SUCH-SETTLEMENT"), tmp_path / "orphan.csv")
    code, output = _import(county[1], tmp_path / "out", path)
    assert code == 2, output
    assert f"orphan.csv:{cancels[0] + 2}:setl_id:" in output and "no record settles" in output


def test_a_settlement_id_twice_is_an_error(county: tuple[Path, Path], tmp_path: Path) -> None:
    t = _small(county, tmp_path)
    path = _write_csv(pa.concat_tables([t, t.slice(len(t) - 1)]), tmp_path / "twice.csv")
    code, output = _import(county[1], tmp_path / "out", path)
    assert code == 2 and f"twice.csv:{len(t) + 2}:setl_id:" in output and "settled before" in output


def test_a_gbk_file_declared_utf8_is_refused_with_the_fix(county: tuple[Path, Path], tmp_path: Path) -> None:
    code, output = _import(county[1], tmp_path / "out", county[1] / SAMPLE_FILE, extra=("--encoding", "utf-8"))
    assert code == 2 and "--encoding" in output


def test_unbalanced_and_refused_records_are_reported_not_fatal(county: tuple[Path, Path], tmp_path: Path) -> None:
    t = _small(county, tmp_path)
    settles = _live(t)
    t = _set(t, settles[0], "psn_cash_pay", "0.00")  # no longer balances
    t = _set(t, settles[1], "fixmedins_code", "H51072799999")  # no such institution
    t = _set(t, settles[2], "med_type", "41")  # a pharmacy purchase
    t = _set(t, settles[3], "setl_id", "=1+2")  # a formula, neutralised in the files written
    path = _write_csv(t, tmp_path / "mixed.csv")
    summary = import_records(county[1], [path], tmp_path / "out")
    assert (summary.records, summary.unbalanced, summary.refused) == (t.num_rows, 1, 2)
    report = _text(tmp_path / "out" / "import_report.csv").to_pylist()
    by_row = {int(r["row"]): r for r in report}
    assert by_row[settles[0] + 2]["outcome"] == "imported" and "不平衡" in by_row[settles[0] + 2]["reason"]
    assert by_row[settles[1] + 2]["outcome"] == "refused" and "fixmedins_code" in by_row[settles[1] + 2]["reason"]
    assert by_row[settles[2] + 2]["outcome"] == "refused" and "41（定点药店购药" in by_row[settles[2] + 2]["reason"]
    assert by_row[settles[3] + 2]["setl_id"] == "'=1+2"
    claims = _text(tmp_path / "out" / "claims.csv").column("claim_id").to_pylist()
    assert "'=1+2" in claims


def test_the_registry_codes_must_be_well_formed_and_unique(county: tuple[Path, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(county[1], data)
    inst = _text(data / "institutions.csv")
    codes = inst.column("nhsa_code").to_pylist()
    codes[1] = codes[0]
    codes[2] = "H99072700001"
    inst = inst.set_column(inst.column_names.index("nhsa_code"), "nhsa_code", pa.array(codes))
    pacsv.write_csv(inst, data / "institutions.csv")
    with pytest.raises(InvalidInput) as err:
        import_records(data, [data / SAMPLE_FILE], tmp_path / "out")
    text = str(err.value)
    assert "institutions.csv:3:nhsa_code:" in text and "institutions.csv:4:nhsa_code:" in text


def test_without_platform_codes_the_registry_ids_are_the_codes(county: tuple[Path, Path], tmp_path: Path) -> None:
    plain = county[0]
    data = tmp_path / "data"
    shutil.copytree(plain, data)
    claims = _text(data / "claims.csv").slice(0, 30)
    write_nhsa_folder(data)  # adds codes; take them away again and write the records with the registry's ids
    records = _records(data)
    for table in ("institutions", "persons"):
        t = _text(data / f"{table}.csv")
        pacsv.write_csv(t.drop_columns(["nhsa_code" if table == "institutions" else "psn_no"]), data / f"{table}.csv")
    records = records.filter(pa.array([v in ("2207", "2304") and not s.endswith("R") for v, s in zip(
        records.column("infno").to_pylist(), records.column("setl_id").to_pylist(), strict=True)])).slice(0, 30)
    records = records.set_column(records.column_names.index("psn_no"), "psn_no", claims.column("person_id"))
    records = records.set_column(records.column_names.index("fixmedins_code"), "fixmedins_code",
                                 claims.column("inst_id"))
    summary = import_records(data, [_write_csv(records, tmp_path / "ids.csv")], tmp_path / "out")
    assert summary.imported == 30


# ----------------------------------------------------------------------------------------- settlement lists (4101)

def test_settlement_lists_as_csv_and_excel_parts_give_the_same_claims(county: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    _, nhsa = county
    code, output = _import(nhsa, tmp_path / "ref", nhsa / SAMPLE_FILE,
                           extra=("--settlement-list", str(nhsa / LIST_FILE)))
    assert code == 0, output
    parts = _list_parts(nhsa / LIST_FILE)
    head = parts["setlinfo"]
    head = head.rename_columns([FIELD_BY_NAME[n].label for n in head.column_names])  # Chinese labels, GB18030
    files = [_write_csv(head, tmp_path / "setlinfo.csv", encoding="gb18030"),
             _write_csv(parts["diseinfo"], tmp_path / "diseinfo.csv")]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ops = parts["oprninfo"]
    ws.append(ops.column_names)
    for row in ops.to_pylist():
        ws.append(list(row.values()))
    wb.save(tmp_path / "oprninfo.xlsx")
    extra: tuple[str, ...] = ()
    for f in [*files, tmp_path / "oprninfo.xlsx"]:
        extra += ("--settlement-list", str(f))
    code, output = _import(nhsa, tmp_path / "out", nhsa / SAMPLE_FILE, extra=extra)
    assert code == 0, output
    assert _text(tmp_path / "out" / "claims.csv").equals(_text(tmp_path / "ref" / "claims.csv"))
    # the same lists handed in as --records: told from the settlements by their content
    for name, lists in (("jsonl", [nhsa / LIST_FILE]), ("parts", [*files, tmp_path / "oprninfo.xlsx"])):
        code, output = _import(nhsa, tmp_path / name, *lists, nhsa / SAMPLE_FILE)
        assert code == 0, output
        assert "settlement list rows joined" in output
        assert _text(tmp_path / name / "claims.csv").equals(_text(tmp_path / "ref" / "claims.csv")), name
    report = (tmp_path / "jsonl" / "import_report.csv").read_bytes()
    assert report == (tmp_path / "ref" / "import_report.csv").read_bytes()


def test_a_settlement_list_is_told_from_settlement_records_by_its_content(county: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    _, nhsa = county
    assert is_settlement_list(nhsa / LIST_FILE) and not is_settlement_list(nhsa / SAMPLE_FILE)
    nested = tmp_path / "nested.jsonl"  # no infno: setlinfo with its nested lists
    nested.write_text(json.dumps({"input": {"setlinfo": {"setl_id": "S1"}, "diseinfo": [{"diag_code": "I10"}]}})
                      + "\n", "utf-8")
    settlement = tmp_path / "s.jsonl"
    settlement.write_text(json.dumps({"infno": "2304", "output": {"setlinfo": {"setl_id": "S1"}}}) + "\n", "utf-8")
    parts = _list_parts(nhsa / LIST_FILE)
    assert is_settlement_list(nested) and not is_settlement_list(settlement)
    assert is_settlement_list(_write_csv(parts["diseinfo"], tmp_path / "d.csv"))
    assert not is_settlement_list(_write_csv(_records(nhsa).slice(0, 5), tmp_path / "r.csv"))


def test_malformed_settlement_lists_exit_2_naming_file_row_and_field(county: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    parts = _list_parts(county[1] / LIST_FILE)
    head = _set(parts["setlinfo"].slice(0, 20), 0, "dscg_way", "7")
    head = _set(head, 1, "acp_optins_code", "X123")
    dise = _set(parts["diseinfo"].slice(0, 20), 2, "diag_code", "pneumonia")
    dise = pa.concat_tables([dise, dise.slice(3, 1)])  # a second main diagnosis for one settlement
    ops = pa.table({"setl_id": ["S1"], "oprn_oprt_code": ["appendix"], "main_oprn_flag": ["yes"]})
    files = [_write_csv(head, tmp_path / "h.csv"), _write_csv(dise, tmp_path / "d.csv"),
             _write_csv(ops, tmp_path / "o.csv")]
    extra: tuple[str, ...] = ()
    for f in files:
        extra += ("--settlement-list", str(f))
    code, output = _import(county[1], tmp_path / "out", county[1] / SAMPLE_FILE, extra=extra)
    assert code == 2, output
    for where in ("h.csv:2:dscg_way:", "h.csv:3:acp_optins_code:", "d.csv:4:diag_code:", "d.csv:22:maindiag_flag:",
                  "o.csv:2:oprn_oprt_code:", "o.csv:2:main_oprn_flag:"):
        assert where in output, where
    assert not (tmp_path / "out" / "claims.csv").exists()


def test_every_list_row_is_accounted_for_and_a_refused_referrer_refers_no_claim(county: tuple[Path, Path],
                                                                                 tmp_path: Path) -> None:
    plain, nhsa = county
    want = _text(plain / "claims.csv")
    referred = [r for r in want.to_pylist() if r["referral_from"]]
    source, target = referred[0]["referral_from"], referred[0]["claim_id"]
    records = _records(nhsa)
    row = records.column("setl_id").to_pylist().index(source)
    records = _set(records, row, "insutype", "510")  # maternity insurance: refused, and so refers no claim
    lists = (nhsa / LIST_FILE).read_text("utf-8").splitlines()
    orphan = json.loads(lists[0])
    orphan["input"]["setlinfo"]["setl_id"] = "NO-SUCH-SETTLEMENT"
    path = tmp_path / "lists.jsonl"
    path.write_text("\n".join([*lists, json.dumps(orphan, ensure_ascii=False)]) + "\n", "utf-8")
    summary = import_records(nhsa, [_write_csv(records, tmp_path / "r.csv")], tmp_path / "out",
                             settlement_lists=[path])
    claims = {r["claim_id"]: r for r in _text(tmp_path / "out" / "claims.csv").to_pylist()}
    assert source not in claims and claims[target]["referral_from"] == ""
    assert summary.referrals == len(referred) - 1
    report = _text(tmp_path / "out" / "import_report.csv").to_pylist()
    listed = [r for r in report if r["infno"] == "4101"]
    assert len(listed) == sum(t.num_rows for t in _list_parts(path).values())
    by_id = {}
    for r in listed:
        by_id.setdefault(r["setl_id"], set()).add(r["outcome"])
    assert by_id["NO-SUCH-SETTLEMENT"] == {"refused"} and by_id[source] == {"refused"}
    assert by_id[target] == {"imported"}
    assert "无此结算ID" in next(r["reason"] for r in listed if r["setl_id"] == "NO-SUCH-SETTLEMENT")


# ------------------------------------------------------------------------------------------------- round trip

def test_import_adjudicate_export_import_gives_the_same_claims(county: tuple[Path, Path], tmp_path: Path) -> None:
    _, nhsa = county
    data = tmp_path / "data"
    shutil.copytree(nhsa, data)
    code, output = _import(data, data, data / SAMPLE_FILE, extra=("--settlement-list", str(data / LIST_FILE)))
    assert code == 0, output
    result = CliRunner().invoke(app, ["adjudicate", "--data", str(data), "--year", str(DEFAULT_YEAR),
                                      "--out", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["nhsa", "export", "--data", str(data), "--results", str(tmp_path / "res"),
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    exported = tmp_path / "x" / EXPORT_DIR
    # --year: the same adjudication done by the export itself, the same files
    result = CliRunner().invoke(app, ["nhsa", "export", "--data", str(data), "--year", str(DEFAULT_YEAR),
                                      "--out", str(tmp_path / "y")])
    assert result.exit_code == 0, result.output
    for name in (f"{RESULT_FILE}.csv", f"{RESULT_FILE}.jsonl", EXPORT_LIST_FILE):
        assert (tmp_path / "y" / EXPORT_DIR / name).read_bytes() == (exported / name).read_bytes(), name
    comparison = (tmp_path / "y" / "fund_comparison.csv").read_bytes()
    assert comparison == (tmp_path / "x" / "fund_comparison.csv").read_bytes()
    assert (tmp_path / "y" / "adjudicated.csv").is_file()
    for args in ([], ["--year", "2026", "--results", str(tmp_path / "res")]):
        result = CliRunner().invoke(app, ["nhsa", "export", "--data", str(data), "--out", str(tmp_path / "z"), *args])
        assert result.exit_code == 2 and "--year" in result.output
    for form in ("csv", "jsonl"):
        code, output = _import(data, tmp_path / f"again-{form}", exported / f"{RESULT_FILE}.{form}",
                               extra=("--settlement-list", str(exported / EXPORT_LIST_FILE)))
        assert code == 0, output
    again = _text(tmp_path / "again-csv" / "claims.csv")
    assert again.equals(_text(tmp_path / "again-jsonl" / "claims.csv"))
    first = {r["claim_id"]: r for r in _text(data / "claims.csv").to_pylist()}
    adjudicated = {r["claim_id"]: r for r in _text(tmp_path / "res" / "adjudicated.csv").to_pylist()}
    assert set(adjudicated) == {r["claim_id"] for r in again.to_pylist()}
    referred = 0
    for r in again.to_pylist():
        want = dict(first[r["claim_id"]])
        assert r["nhsa_fund_paid"] == adjudicated[r["claim_id"]]["fund_paid"]  # ours is now the platform's
        if want["referral_from"] not in adjudicated:  # referred from an admission of the year before: not exported
            want["referral_from"] = ""
        referred += bool(r["referral_from"])
        assert {k: v for k, v in r.items() if k != "nhsa_fund_paid"} == \
            {k: v for k, v in want.items() if k != "nhsa_fund_paid"}, r["claim_id"]
    assert referred > 0
    report = _text(tmp_path / "again-csv" / "import_report.csv").column("reason").to_pylist()
    assert not any("不平衡" in r for r in report)  # fund + account + cash = total in every exported record


def test_the_fund_comparison_adds_up_and_explains_each_rule(county: tuple[Path, Path], tmp_path: Path) -> None:
    _, nhsa = county
    data = tmp_path / "data"
    shutil.copytree(nhsa, data)
    import_records(data, [data / SAMPLE_FILE], data, settlement_lists=[data / LIST_FILE])
    assert CliRunner().invoke(app, ["adjudicate", "--data", str(data), "--year", str(DEFAULT_YEAR),
                                    "--out", str(tmp_path / "res")]).exit_code == 0
    summary = export_results(data, tmp_path / "res", tmp_path / "x")
    c = summary.comparison
    assert c is not None and c.compared
    adjudicated = _text(tmp_path / "res" / "adjudicated.csv").to_pylist()

    def fen(v: str) -> int:
        return round(float(v) * 100)

    assert sum(g.fund_paid for g in c.groups) == sum(fen(r["fund_paid"]) for r in adjudicated)
    assert sum(g.nhsa_fund_paid for g in c.groups) == sum(fen(r["nhsa_fund_paid"]) for r in adjudicated)
    assert sum(g.claims for g in c.groups) == len(adjudicated)
    table = _text(tmp_path / "x" / "fund_comparison.csv").to_pylist()
    assert len(table) == len(c.groups)
    for row, g in zip(table, c.groups, strict=True):
        assert fen(row["difference"]) == fen(row["fund_paid"]) - fen(row["nhsa_fund_paid"])
        assert row["rule_label"] and row["explanation"].startswith(RULE_TEXT[Rule(g.rule)][0])
    diffs = [abs(r["difference"]) for r in c.top]
    assert diffs == sorted(diffs, reverse=True) and len(diffs) == min(TOP_DIFFERENCES, sum(g.differing
                                                                                          for g in c.groups))
    html_page, xlsx = comparison_html(c), comparison_xlsx(c)
    assert "医保基金支付对比" in html_page and c.top[0]["claim_id"] in html_page
    assert xlsx == comparison_xlsx(c)  # the same comparison, the same bytes


def test_the_columnar_path_writes_what_the_row_path_writes(county: tuple[Path, Path], tmp_path: Path) -> None:
    """The columnar path maps the plainly clean records; everything else goes one by one. Both paths, the same
    files: on the sample with its settlement lists and on records with every kind of doubt mixed in."""
    _, nhsa = county
    t = _records(nhsa)
    settles = _live(t)
    changes = [("psn_cash_pay", "0.00"), ("fixmedins_code", "H51072799999"), ("med_type", "41"),
               ("setl_id", "=1+2"), ("medfee_sumamt", "1,234.50"), ("begndate", "20260301"),
               ("certno", "510727196005011234"), ("gend", "9"), ("insutype", "310"), ("diag_code", "I10 "),
               ("inscp_scp_amt", "99999.00"), ("brdy", "1900-01-01"), ("enddate", "2020-01-01"),
               ("med_type", "140104"), ("psn_cert_type", "02"), ("acct_pay", "1.5")]
    for (name, value), row in zip(changes, settles[7::13], strict=False):
        t = _set(t, row, name, value)
    path = _write_csv(t, tmp_path / "mixed.csv")
    for records, lists in (([nhsa / SAMPLE_FILE], [nhsa / LIST_FILE]), ([path], [nhsa / LIST_FILE])):
        got = [import_records(nhsa, records, tmp_path / f"v{int(v)}", settlement_lists=lists, vectorised=v,
                              batch_rows=999) for v in (False, True)]
        assert got[0].refused > 0 or records[0] == nhsa / SAMPLE_FILE
        assert (got[0].records, got[0].imported, got[0].refused, got[0].unbalanced, got[0].total_cost) == \
            (got[1].records, got[1].imported, got[1].refused, got[1].unbalanced, got[1].total_cost)
        for name in ("claims.csv", "import_report.csv"):
            assert (tmp_path / "v0" / name).read_bytes() == (tmp_path / "v1" / name).read_bytes(), name


def test_results_without_the_platform_payment_list_ours_alone_and_no_results_exit_2(county: tuple[Path, Path],
                                                                                    tmp_path: Path) -> None:
    plain, _ = county
    assert CliRunner().invoke(app, ["adjudicate", "--data", str(plain), "--year", str(DEFAULT_YEAR),
                                    "--out", str(tmp_path / "res")]).exit_code == 0
    result = CliRunner().invoke(app, ["nhsa", "export", "--data", str(plain), "--results", str(tmp_path / "res"),
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    table = _text(tmp_path / "x" / "fund_comparison.csv").to_pylist()
    assert table and all(r["nhsa_fund_paid"] == "0.00" and r["differing"] == "0" for r in table)
    assert "nhsa_fund_paid" in (tmp_path / "x" / "fund_comparison.html").read_text("utf-8")
    records = _text(tmp_path / "x" / EXPORT_DIR / f"{RESULT_FILE}.csv")
    assert set(records.column("fixmedins_code").to_pylist()) <= set(_text(plain / "institutions.csv")
                                                                    .column("inst_id").to_pylist())
    result = CliRunner().invoke(app, ["nhsa", "export", "--data", str(plain), "--results", str(tmp_path / "none"),
                                      "--out", str(tmp_path / "y")])
    assert result.exit_code == 2 and "adjudicated" in result.output


# Changes that keep a record well formed but put it off the columnar path (a refusal, a note, a doubt), and ones
# that make it malformed (the whole import is refused, by both paths alike).
_DOUBTS = (("psn_cash_pay", "0.00"), ("fixmedins_code", "H51072799999"), ("med_type", "41"), ("psn_no", "NOBODY"),
           ("insutype", "510"), ("insuplc_admdvs", "510799"), ("mdtrtarea_admdvs", "510700"),
           ("begndate", "20260301"), ("medfee_sumamt", "1,234.50"), ("inscp_scp_amt", "99999.00"),
           ("certno", "510727196005011234"), ("gend", "9"), ("insutype", "310"), ("diag_code", "D49.1"),
           ("diag_code", "I10.x00x002"), ("med_type", "140104"), ("psn_cert_type", "02"), ("enddate", "2020-01-01"))
_BROKEN = (("medfee_sumamt", "12.345"), ("begndate", "2026-13-01"), ("insuplc_admdvs", "5107"), ("med_type", "99"),
           ("diag_code", "高血压"))


def _outcome(data: Path, path: Path, out: Path, vectorised: bool) -> tuple[object, ...]:
    try:
        s = import_records(data, [path], out, vectorised=vectorised, batch_rows=7)
    except InvalidInput as exc:
        return ("invalid", tuple((p.file, p.row, p.column, p.message) for p in exc.problems))
    return (s.records, s.imported, s.cancelled, s.refused, s.unbalanced, s.total_cost, s.nhsa_fund_paid,
            (out / "claims.csv").read_bytes(), (out / "import_report.csv").read_bytes())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_columnar_import_equals_the_per_record_reference_on_random_record_sets(
        county: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """Hypothesis draws a set of the sample's settlements, changes some (refusals, notes, doubts, malformed cells),
    cancels some (2208/2305 after their original) and shuffles them: the columnar import and the per-record
    reference (``vectorised=False``) give the same outcome, byte for byte, or refuse the same cells."""
    _, nhsa = county
    pool = _records(nhsa)
    pool = pool.append_column("mdtrtarea_admdvs", pool.column("insuplc_admdvs"))
    live = _live(pool)
    picked = data.draw(st.lists(st.sampled_from(live), min_size=1, max_size=40, unique=True), label="records")
    t = pool.take(pa.array(picked))
    for i in range(t.num_rows):
        change = data.draw(st.sampled_from([None, None, None, *_DOUBTS]), label="change")
        if change is not None:
            t = _set(t, i, *change)
    if data.draw(st.integers(0, 4), label="broken") == 0:
        t = _set(t, data.draw(st.integers(0, t.num_rows - 1)), *data.draw(st.sampled_from(_BROKEN)))
    cancelled = data.draw(st.lists(st.integers(0, t.num_rows - 1), max_size=5, unique=True), label="cancelled")
    rows = t.to_pylist()
    for i in cancelled:
        rows.append({**{k: "" for k in t.column_names}, "infno": "2305" if rows[i]["infno"] == "2304" else "2208",
                     "setl_id": rows[i]["setl_id"], "psn_no": rows[i]["psn_no"]})
    order = data.draw(st.permutations(range(len(rows))), label="order")  # a cancellation may come first
    table = pa.Table.from_pylist([rows[i] for i in order], schema=t.schema)
    base = tmp_path_factory.mktemp("hyp")
    path = _write_csv(table, base / "records.csv")
    reference = _outcome(nhsa, path, base / "rows", False)
    columnar = _outcome(nhsa, path, base / "columns", True)
    assert columnar == reference
    event("malformed" if reference[0] == "invalid" else "imported")
    if reference[0] != "invalid":
        records, imported, cancelled_n, refused = reference[:4]
        assert records == table.num_rows == imported + cancelled_n + refused  # type: ignore[operator]
        assert cancelled_n == 2 * len(cancelled)


def test_a_gbk_export_with_chinese_labels_reads_as_its_utf8_twin(county: tuple[Path, Path], tmp_path: Path) -> None:
    """GBK proper (not GB18030), Chinese column labels, detected or declared: the same files as UTF-8."""
    t = _small(county, tmp_path)
    t = t.rename_columns([FIELD_BY_NAME[n].label for n in t.column_names])
    utf8 = _write_csv(t, tmp_path / "u.csv")
    gbk = _write_csv(t, tmp_path / "g.csv", encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")
    runs = [(utf8, ()), (gbk, ()), (gbk, ("--encoding", "gbk"))]
    for k, (path, extra) in enumerate(runs):
        code, output = _import(county[1], tmp_path / f"o{k}", path, extra=extra)
        assert code == 0, output
    claims = [_text(tmp_path / f"o{k}" / "claims.csv") for k in range(len(runs))]
    assert claims[0].num_rows > 0 and all(c.equals(claims[0]) for c in claims)


def test_json_lines_records_missing_fields_name_each_line_and_field(county: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    rows = [r for r in _small(county, tmp_path).to_pylist() if r["infno"] in ("2207", "2304")][:3]
    del rows[1]["medfee_sumamt"]
    del rows[2]["fixmedins_code"], rows[2]["begndate"]
    path = tmp_path / "gaps.jsonl"
    path.write_text("".join(json.dumps({"infno": r.pop("infno"), "output": {"setlinfo": r}}, ensure_ascii=False) + "\n"
                            for r in rows), "utf-8")
    code, output = _import(county[1], tmp_path / "out", path)
    assert code == 2, output
    for where in ("gaps.jsonl:2:medfee_sumamt:", "gaps.jsonl:3:fixmedins_code:", "gaps.jsonl:3:begndate:"):
        assert where in output
    assert "gaps.jsonl:1:" not in output and not (tmp_path / "out" / "claims.csv").exists()
