"""``yigongti public-health``: report cards from a year's claims, on a hand-made folder checked by hand
(tests/data/public-health/README.md says why each card is what it is), on Parquet claims, and on the worked example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from yigongti.cli import app

HAND = Path(__file__).resolve().parents[1] / "data" / "public-health"
HEADER = "card_id,person_id,inst_id,disease_code,disease_class,diagnosed_at,deadline,status"


def _run(data: Path, year: int, out: Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["public-health", "--data", str(data), "--year", str(year), "--out", str(out)])
    return res.exit_code, res.output


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(HAND / "claims.csv", folder / "claims.csv")
    return folder


def test_hand_made_folder_gives_the_cards_worked_by_hand(tmp_path: Path) -> None:
    code, output = _run(_copy(tmp_path), 2026, tmp_path / "out")
    assert code == 0, output
    got = (tmp_path / "out" / "infectious_reports.csv").read_text(encoding="utf-8")
    assert got == (HAND / "expected-2026.csv").read_text(encoding="utf-8")
    assert "7" in output and "甲类" in output


def test_covid_was_managed_as_class_a_in_2022(tmp_path: Path) -> None:
    code, output = _run(_copy(tmp_path), 2022, tmp_path / "out")
    assert code == 0, output
    lines = (tmp_path / "out" / "infectious_reports.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [HEADER, "IDR2022-000001,P8,T1,covid19,B,2022-12-01T00:00:00,2022-12-01T02:00:00,pending"]


def _parquet_folder(tmp_path: Path, name: str, split: int) -> Path:
    """The hand-made claims ``name`` as a folder of two Parquet parts (split at row ``split``)."""
    folder = tmp_path / "data"
    (folder / "claims").mkdir(parents=True)
    table = pacsv.read_csv(HAND / name, convert_options=pacsv.ConvertOptions(
        column_types={"person_id": "string", "inst_id": "string", "diagnosis": "string"}))
    pq.write_table(table.slice(0, split), folder / "claims" / "part-0.parquet")
    pq.write_table(table.slice(split), folder / "claims" / "part-1.parquet")
    return folder


def test_parquet_claims_folder_gives_the_same_cards(tmp_path: Path) -> None:
    code, output = _run(_parquet_folder(tmp_path, "claims.csv", 6), 2026, tmp_path / "out")
    assert code == 0, output
    got = (tmp_path / "out" / "infectious_reports.csv").read_text(encoding="utf-8")
    assert got == (HAND / "expected-2026.csv").read_text(encoding="utf-8")


def test_episode_window_is_policy(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "policy.toml").write_text("[public_health]\nepisode_days = 10\nclass_a_hours = 3\n", encoding="utf-8")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 0, output
    rows = (tmp_path / "out" / "infectious_reports.csv").read_text(encoding="utf-8").splitlines()[1:]
    cholera = [r for r in rows if ",cholera," in r and ",P1," in r]
    assert len(cholera) == 3  # 03-20 is 19 days after 03-01: a card of its own with a 10-day window
    assert "2026-03-20T00:00:00,2026-03-20T03:00:00" in cholera[1]


def test_worked_example_has_no_notifiable_diagnosis(example_input: Path, tmp_path: Path) -> None:
    """The example county's diagnoses (S72.0, J06.9, J18.9, I63.9, E11.9, I10, K29.7) are none notifiable: by hand,
    an empty list."""
    code, output = _run(example_input, 2026, tmp_path / "out")
    assert code == 0, output
    assert (tmp_path / "out" / "infectious_reports.csv").read_text(encoding="utf-8").splitlines() == [HEADER]


def test_bad_claims_name_file_row_and_column(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "claims.csv").read_text(encoding="utf-8").replace("2026-04-02,2026-04-20", "2026-13-02,")
    (folder / "claims.csv").write_text(text, encoding="utf-8")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 2
    assert "claims.csv:7:admit_date" in output
    assert not (tmp_path / "out" / "infectious_reports.csv").exists()


def test_bad_disease_list_names_the_entry_and_field(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "diseases.toml").write_text('[[disease]]\ncode = "x"\nclass = "D"\nicd10 = ["A00"]\n', encoding="utf-8")
    (folder / "policy.toml").write_text('[public_health]\ndiseases = "diseases.toml"\n', encoding="utf-8")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 2
    assert "disease 1 (x)" in output and "class" in output


def test_parquet_claims_with_a_bad_date_exit_2(tmp_path: Path) -> None:
    import pyarrow as pa

    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"claim_id": ["K1"], "person_id": ["P1"], "inst_id": ["T1"],
                             "admit_date": ["2026-02-30"], "diagnosis": ["A00.9"]}), folder / "claims.parquet")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 2 and "yigongti check" in output
    assert not (tmp_path / "out" / "infectious_reports.csv").exists()
    assert not (tmp_path / "out" / "foodborne_reports.csv").exists()


FOOD_HEADER = "card_id,person_id,inst_id,case_code,diagnosed_at,deadline,status"


def test_food_borne_claims_give_the_reports_worked_by_hand(tmp_path: Path) -> None:
    """OUT/foodborne_reports.csv beside infectious_reports.csv: tests/data/public-health/README.md works each report
    out by hand (the window from the latest claim, the longest prefix, 48 h from the admit date's midnight)."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(HAND / "foodborne-claims.csv", folder / "claims.csv")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 0, output
    got = (tmp_path / "out" / "foodborne_reports.csv").read_text(encoding="utf-8")
    assert got == (HAND / "expected-foodborne-2026.csv").read_text(encoding="utf-8")
    assert "5 food-borne case reports" in " ".join(output.split())
    assert (tmp_path / "out" / "infectious_reports.csv").exists()  # A02 is also notifiable (Class C diarrhoea)


def test_food_borne_reports_from_parquet_claims_are_the_same(tmp_path: Path) -> None:
    code, output = _run(_parquet_folder(tmp_path, "foodborne-claims.csv", 4), 2026, tmp_path / "out")
    assert code == 0, output
    got = (tmp_path / "out" / "foodborne_reports.csv").read_text(encoding="utf-8")
    assert got == (HAND / "expected-foodborne-2026.csv").read_text(encoding="utf-8")


def test_food_borne_episode_window_is_policy(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(HAND / "foodborne-claims.csv", folder / "claims.csv")
    (folder / "policy.toml").write_text("[public_health]\nepisode_days = 20\n", encoding="utf-8")
    code, output = _run(folder, 2026, tmp_path / "out")
    assert code == 0, output
    rows = (tmp_path / "out" / "foodborne_reports.csv").read_text(encoding="utf-8").splitlines()
    salmonella = [r for r in rows[1:] if ",salmonellosis," in r]
    # 02-20 is 19 days after 02-01 (joins); 03-15 is 23 days after 02-20: a report of its own
    assert [r.split(",")[4] for r in salmonella] == ["2026-02-01T00:00:00", "2026-03-15T00:00:00",
                                                     "2026-05-01T00:00:00"]


def test_no_food_borne_claim_writes_the_header_only(example_input: Path, tmp_path: Path) -> None:
    code, output = _run(example_input, 2026, tmp_path / "out")
    assert code == 0, output
    assert (tmp_path / "out" / "foodborne_reports.csv").read_text(encoding="utf-8").splitlines() == [FOOD_HEADER]
