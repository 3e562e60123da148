"""Settling a folder of Parquet claims streamed through the engine from end to end (``settle_year`` above
``STREAM_CLAIMS`` claims, a province's path; the tests lower the threshold) gives the same settlement, allocation,
ledger and appraisal as the in-memory path, and the example's expected settlement."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parquet_parts import claims_in_parquet_parts
from tests.integration.test_settle_example import read_csv
from typer.testing import CliRunner

from yigongti.benefits.service import LARGE_INPUT_TABLES, check_claims_files
from yigongti.budget.service import SettlementResult, settle_year
from yigongti.cli import app
from yigongti.core.engine import connect
from yigongti.core.policy import CapitationPolicy, Policy
from yigongti.datafolder.folder import read_folder


@pytest.fixture(scope="module")
def folders(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the example with CSV claims, the same with claims as a folder of Parquet parts), both with the expected
    designations of 2026 and without adjudicated claims (settle adjudicates)."""
    csv_folder = tmp_path_factory.mktemp("csv")
    for f in example_input.iterdir():
        shutil.copyfile(f, csv_folder / f.name)
    earlier = (example_input / "designations.csv").read_text(encoding="utf-8")
    y2026 = (example_expected / "designations.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (csv_folder / "designations.csv").write_text(earlier.rstrip("\n") + "\n" + y2026, encoding="utf-8")
    pq_folder = tmp_path_factory.mktemp("parquet")
    claims_in_parquet_parts(csv_folder, pq_folder, 3)
    return csv_folder, pq_folder


def _without_hash(t: pa.Table) -> pa.Table:
    return t.drop_columns(["inputs_hash"]) if "inputs_hash" in t.column_names else t


def _streamed(folder: Path, policy: Policy | None = None) -> SettlementResult:
    result = settle_year(folder, 2026, policy, stream_above=0)
    assert result.streamed
    return result


def test_parquet_folder_settles_like_the_in_memory_path(folders: tuple[Path, Path]) -> None:
    csv_folder, pq_folder = folders
    a = settle_year(csv_folder, 2026)
    b = _streamed(pq_folder)
    in_memory = settle_year(pq_folder, 2026)  # a county's few Parquet claims: read into memory
    assert not a.streamed and not in_memory.streamed
    for other in (a, in_memory):
        assert b.settlement.equals(other.settlement)
        assert b.allocation.equals(other.allocation)
        assert _without_hash(b.ledger).equals(_without_hash(other.ledger))
        assert b.by_month.sort_by([("consortium_id", "ascending"), ("month", "ascending")]).equals(
            other.by_month.sort_by([("consortium_id", "ascending"), ("month", "ascending")]))
    # the claims files are hashed by their bytes, on either path: the same files give the same hash and ledger
    assert in_memory.inputs_hash == b.inputs_hash and in_memory.ledger.equals(b.ledger)
    assert settle_year(pq_folder, 2026, stream_above=0).inputs_hash == b.inputs_hash
    assert b.inputs_hash != a.inputs_hash


def test_the_streamed_path_appraises_like_the_in_memory_path(folders: tuple[Path, Path]) -> None:
    """The P4P scores are the appraisal's at a province's scale too: the same indicators and scores."""
    csv_folder, pq_folder = folders
    a, b = settle_year(csv_folder, 2026), _streamed(pq_folder)
    assert a.appraisal is not None and b.appraisal is not None
    assert b.appraisal.scores.num_rows > 0
    assert b.appraisal.scores.equals(a.appraisal.scores)
    assert b.appraisal.indicators.equals(a.appraisal.indicators)
    assert b.appraisal.notes == a.appraisal.notes


def test_the_streamed_path_checks_the_claims_once(folders: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One scan of the claims' checks per settlement (the adjudication's, with the references), not one per read;
    last year's indicators are not computed (no score depends on them)."""
    from yigongti.benefits import service as benefits

    scans: list[Path] = []
    real = benefits.check_parquet_claims

    def counted(t: object, path: Path, **refs: object) -> bool:
        scans.append(path)
        return real(t, path, **refs)  # type: ignore[arg-type]

    monkeypatch.setattr(benefits, "check_parquet_claims", counted)
    result = _streamed(folders[1])
    assert len(scans) == 1
    assert result.appraisal is not None and result.appraisal.previous is None and result.appraisal.scores.num_rows


def test_valid_claims_are_cleared_by_the_first_look_alone(folders: tuple[Path, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid claims without padding pass the check on its first look (one regular expression a text cell): the
    full scan, which evaluates each text check twice (for the verdict and for the padding), never runs on them."""
    from yigongti.benefits import service as benefits

    looks: list[bool] = []  # first_look of each call
    real = benefits.bad_claims_count
    monkeypatch.setattr(benefits, "bad_claims_count",
                        lambda *a, **k: looks.append(bool(k.get("first_look"))) or real(*a, **k))
    _streamed(folders[1])
    assert looks == [True]


def test_the_appraisal_scores_pay_the_p4p_on_the_streamed_path(folders: tuple[Path, Path], tmp_path: Path) -> None:
    _, pq_folder = folders
    folder = tmp_path / "unscored"
    shutil.copytree(pq_folder, folder)
    (folder / "scores.csv").unlink()
    b = _streamed(folder)
    assert b.appraisal is not None
    computed = {r["unit_id"]: r["score"] for r in b.appraisal.scores.to_pylist()}
    assert computed
    for s in b.consortia:
        assert s.score is not None and s.score == Decimal(computed[s.consortium_id])
    in_memory = settle_year(folder, 2026)
    assert in_memory.settlement.equals(b.settlement) and in_memory.ledger.equals(b.ledger)


def test_risk_adjustment_reads_last_years_diagnoses_from_the_parquet_claims(folders: tuple[Path, Path]) -> None:
    csv_folder, pq_folder = folders
    cap = CapitationPolicy(risk_adjustment=True, risk_weights={"dm": Decimal("1.5")},  # type: ignore[arg-type]
                           risk_diagnoses={"dm": ("E11",)})
    a = settle_year(csv_folder, 2026, Policy(capitation=cap))
    b = _streamed(pq_folder, Policy(capitation=cap))
    plain = _streamed(pq_folder)
    heads = [s.budget.standard_heads for s in b.consortia]
    assert heads == [s.budget.standard_heads for s in a.consortia]
    assert heads != [s.budget.standard_heads for s in plain.consortia]  # the diabetics weigh more
    assert b.settlement.equals(a.settlement)


def test_cli_settles_parquet_claims_as_run_does(folders: tuple[Path, Path], example_expected: Path,
                                               tmp_path: Path) -> None:
    _, pq_folder = folders
    expected = read_csv(example_expected / "settlement.csv")
    runner = CliRunner()
    for command in ("settle", "run"):
        result = runner.invoke(app, [command, "--data", str(pq_folder), "--year", "2026", "--out",
                                     str(tmp_path / command), "--no-reports"])
        assert result.exit_code == 0, result.output
        got = read_csv(tmp_path / command / "settlement.csv")
        assert [{k: g[k] for k in e} for e, g in zip(expected, got, strict=True)] == expected
    for name in ("settlement.csv", "allocation.csv", "ledger.csv"):
        assert (tmp_path / "settle" / name).read_bytes() == (tmp_path / "run" / name).read_bytes(), name
    # the path is the engine's choice: there is no flag for it
    result = runner.invoke(app, ["settle", "--data", str(pq_folder), "--year", "2026", "--out", str(tmp_path / "x"),
                                 "--stream"])
    assert result.exit_code != 0 and "--stream" in result.output


def test_changed_claims_file_changes_the_hash(folders: tuple[Path, Path], tmp_path: Path) -> None:
    _, pq_folder = folders
    changed = tmp_path / "changed"
    shutil.copytree(pq_folder, changed)
    part = changed / "claims" / "part-2.parquet"
    t = pq.read_table(part)
    pq.write_table(t.slice(0, t.num_rows - 1), part)
    assert _streamed(changed).inputs_hash != _streamed(pq_folder).inputs_hash
    assert settle_year(changed, 2026).inputs_hash != settle_year(pq_folder, 2026).inputs_hash


def test_ids_found_only_trimmed_pass_the_engine_check_and_unknown_ids_are_named(
        folders: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine looks the claims' ids up as written first and trims them only when one is not found: a padded id
    of a known person passes without the Arrow check; an unknown one is still named by file, row and column."""
    from yigongti.benefits import service as benefits
    from yigongti.core.problems import InvalidInput
    from yigongti.datafolder.folder import read_folder
    from yigongti.datafolder.schema import INPUT_TABLES

    folder = tmp_path / "padded"
    shutil.copytree(folders[1], folder)
    part = folder / "claims" / "part-0.parquet"
    claims = pq.read_table(part)
    ids = claims.column("person_id").to_pylist()
    ids[0] = f"  {ids[0]} "

    def write(person_ids: list[str]) -> None:
        pq.write_table(claims.set_column(claims.column_names.index("person_id"), "person_id",
                                         pa.array(person_ids, pa.string())), part)

    arrow_checks: list[Path] = []
    real = benefits._raise_claims_problems

    def counted(path: Path, *, refs: bool) -> None:
        arrow_checks.append(path)
        real(path, refs=refs)

    monkeypatch.setattr(benefits, "_raise_claims_problems", counted)
    data = read_folder(folder, tables=[t for t in INPUT_TABLES if t != "claims"])
    write(ids)
    benefits.check_claims_files(data, folder / "claims")
    assert arrow_checks == []
    write([ids[0], "NO-SUCH-PERSON", *ids[2:]])
    with pytest.raises(InvalidInput) as caught:
        benefits.check_claims_files(data, folder / "claims")
    assert arrow_checks == [folder / "claims"]
    text = str(caught.value)
    assert "part-0.parquet" in text and "person_id" in text and "NO-SUCH-PERSON" in text, text


def test_the_streamed_paths_adjudicate_once_into_a_spill_they_remove(folders: tuple[Path, Path], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """settle's and run's streamed paths adjudicate once into a Parquet spill (one mechanism), and remove it after,
    also when the settlement fails."""
    import tempfile

    from yigongti.budget import service as budget
    from yigongti.budget.year import run_year

    made: list[Path] = []
    real = tempfile.mkdtemp

    def spy(*args: object, **kwargs: object) -> str:
        path = real(*args, **kwargs)  # type: ignore[call-overload]
        made.append(Path(path))
        return str(path)

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    _streamed(folders[1])
    run_year(folders[1], 2026, tmp_path / "out", reports=False, stream_above=0)
    settle_spills = [p for p in made if p.name.startswith("yigongti-settle-")]
    run_spills = [p for p in made if p.name.startswith("yigongti-run-")]
    assert len(settle_spills) == 1 and len(run_spills) == 1
    assert not any(p.exists() for p in made)

    def fails(*args: object, **kwargs: object) -> SettlementResult:
        assert made[-1].exists()  # the spill is there while the settlement reads it
        raise RuntimeError("settlement failed")

    made.clear()
    monkeypatch.setattr(budget, "settle_streamed", fails)
    with pytest.raises(RuntimeError, match="settlement failed"):
        _streamed(folders[1])
    assert made and made[-1].name.startswith("yigongti-settle-") and not made[-1].exists()


@pytest.mark.parametrize("pad", [" {}  ", "\u3000{}\u00a0"], ids=["ascii-spaces", "wide-spaces"])
def test_padded_text_in_parquet_claims_settles_as_in_memory(folders: tuple[Path, Path], tmp_path: Path,
                                                             pad: str) -> None:
    """Ids and codes padded with spaces pass the check (it judges them trimmed, as the in-memory reader trims every
    text cell, Unicode spaces too); the streamed path must then read them trimmed too, or their claims would match
    no person, institution or setting and the money would differ from the in-memory path's (it did, by up to 2.5 M
    fen). The check tells the streamed path that the claims need trimming (and that plain ones do not)."""
    folder = tmp_path / "padded"
    shutil.copytree(folders[1], folder)
    part = folder / "claims" / "part-0.parquet"
    claims = pq.read_table(part)
    for name in ("person_id", "inst_id", "setting", "diagnosis"):
        padded = pa.array([None if v is None else pad.format(v) for v in claims.column(name).to_pylist()],
                          pa.string())
        claims = claims.set_column(claims.column_names.index(name), name, padded)
    pq.write_table(claims, part)
    assert check_claims_files(read_folder(folder, tables=LARGE_INPUT_TABLES), folder / "claims") is True
    assert check_claims_files(read_folder(folders[1], tables=LARGE_INPUT_TABLES), folders[1] / "claims") is False
    in_memory, streamed = settle_year(folder, 2026), _streamed(folder)
    assert not in_memory.streamed
    assert streamed.settlement.equals(in_memory.settlement)
    assert streamed.settlement.equals(_streamed(folders[1]).settlement)
    assert streamed.appraisal is not None and in_memory.appraisal is not None
    assert streamed.appraisal.scores.equals(in_memory.appraisal.scores)


def test_the_spill_leaves_the_connection_s_order_as_it_was(folders: tuple[Path, Path], tmp_path: Path) -> None:
    """``adjudicated_once`` writes its spill in no order (faster), then puts the connection's setting back: ``run``'s
    appraisal and settlement on the same connection keep the order their queries were given. The spill holds every
    claim of the year, adjudicated."""
    from yigongti.benefits.service import adjudicated_once, designations_for

    folder = folders[1]
    data = read_folder(folder, tables=LARGE_INPUT_TABLES)
    policy = Policy()
    designations = designations_for(data, 2026, policy)
    for keep in (True, False):
        con = connect("duckdb", keep_order=keep)
        try:
            spilled = adjudicated_once(con, data, folder / "claims", designations, policy, 2026,
                                       tmp_path / f"spill-{keep}.parquet")
            setting = con.raw_sql("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
            assert setting is keep
            assert spilled.count().to_pyarrow().as_py() > 0
            assert {"fund_paid", "network_status", "designated_consortium"} <= set(spilled.columns)
        finally:
            con.disconnect()


def test_the_spill_holds_codes_and_reads_back_as_names(folders: tuple[Path, Path], tmp_path: Path) -> None:
    """``adjudicated_once``'s spill holds network_status, rule and the designation as integer codes (the year's
    designations in a small file beside it): cheaper to write than their names. The table it returns names them
    again: the rows of ``adjudicated_expr`` (with the designations), column for column, in the same order."""
    from yigongti.benefits.engine import DESIGNATED_COLUMNS, DESIGNATION_CODE
    from yigongti.benefits.service import adjudicated_expr, adjudicated_once, designations_for

    folder = folders[1]
    data = read_folder(folder, tables=LARGE_INPUT_TABLES)
    policy = Policy()
    designations = designations_for(data, 2026, policy)
    con = connect("duckdb")
    try:
        spill = tmp_path / "spill.parquet"
        spilled = adjudicated_once(con, data, folder / "claims", designations, policy, 2026, spill)
        written = pq.read_schema(spill)
        assert pa.types.is_integer(written.field("network_status").type)
        assert pa.types.is_integer(written.field("rule").type)
        assert DESIGNATION_CODE in written.names and not set(DESIGNATED_COLUMNS) & set(written.names)
        assert (tmp_path / "spill.places.parquet").exists()
        expected = adjudicated_expr(con, data, folder / "claims", designations, policy, 2026, designated=True,
                                    checked=True)
        assert spilled.columns == expected.columns
        got = spilled.to_pyarrow().sort_by("claim_id")
        want = expected.to_pyarrow().sort_by("claim_id")
        assert got.num_rows == want.num_rows > 0
        assert got.to_pylist() == want.to_pylist()
        assert set(got.column(DESIGNATED_COLUMNS[0]).to_pylist()) - {None}  # designations named, not all null
    finally:
        con.disconnect()
