"""The streamed run's check step with its parts side by side (``budget.year._check_parking``): the parked tables and
the first look at the claims files on a thread of their own while the other tables are checked, then the claims.
What is raised, and in what order, is what the steps one after the other raised: the tables' problems (every table's,
together), then the policy's and the opening balances', then the claims'."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import yigongti.budget.year as year_module
from yigongti.benefits import service as benefits
from yigongti.benefits.service import check_claims_files, claims_look
from yigongti.budget.year import PARKED_TABLES, run_year
from yigongti.cli import app
from yigongti.core.engine import connect, read_parquet
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import INPUT_TABLES

TABLES = [t for t in INPUT_TABLES if t != "claims"]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("province") / "demo"
    made = CliRunner().invoke(app, ["demo", "--out", str(data), "--persons", "2000", "--seed", "5",
                                    "--counties", "2", "--format", "parquet", "--no-run"])
    assert made.exit_code == 0, made.output
    return data


def _copy(province: Path, tmp_path: Path) -> Path:
    data = tmp_path / "demo"
    shutil.copytree(province, data)
    return data


def _plant(file: Path, column: str, row: int, value: object, type_: pa.DataType | None = None) -> None:
    """Write ``value`` into one cell of a Parquet file (the column as ``type_``, else as it is)."""
    table = pq.read_table(file)
    values = table.column(column).to_pylist()
    values[row] = value
    i = table.column_names.index(column)
    pq.write_table(table.set_column(i, column, pa.array(values, type_ or table.schema.field(i).type)), file)


def _bad_claim(data: Path) -> Path:
    part = sorted((data / "claims").glob("*.parquet"))[0]
    _plant(part, "person_id", 0, "nobody")
    return part


def test_a_problem_of_the_claims_comes_alone_when_the_other_tables_have_none(province: Path, tmp_path: Path) -> None:
    data = _copy(province, tmp_path)
    part = _bad_claim(data)
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert [(p.column, part.name in p.message) for p in caught.value.problems] == [("person_id", True)]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("table", ["persons", "followups"])
def test_the_tables_problems_come_first_whatever_the_claims_have(province: Path, tmp_path: Path,
                                                                 table: str) -> None:
    """A bad claim while a table checked beside it (persons: on this thread, before the claims; follow-ups: parked,
    on the other) has a problem too: the tables' problems are raised, every one, in ``read_folder``'s order, and
    the claims' are not (the claims were checked after the tables, as before)."""
    data = _copy(province, tmp_path)
    _bad_claim(data)
    _plant(data / "followups.parquet", "date", 3, "2026-02-30")
    if table == "persons":
        _plant(sorted((data / "persons").glob("*.parquet"))[0], "sex", 1, "?")
    with pytest.raises(InvalidInput) as expected:
        read_folder(data, tables=TABLES)
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert caught.value.problems == expected.value.problems
    assert {p.file.split("/")[0] for p in caught.value.problems} == (
        {"followups.parquet", "persons"} if table == "persons" else {"followups.parquet"})
    assert not (tmp_path / "out").exists()


def test_the_opening_balances_problems_come_before_the_claims(province: Path, tmp_path: Path) -> None:
    """The claims are checked while the parked tables are; their verdict is given where the run asked for it before:
    after the policy and the opening balances are read (a missing opening file: its problem, not the claims')."""
    data = _copy(province, tmp_path)
    _bad_claim(data)
    missing = tmp_path / "surplus.csv"
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "out", stream_above=0, opening=missing)
    assert [(p.file, p.message.split(" /")[0]) for p in caught.value.problems] == [(str(missing), "no such file")]


def test_the_parked_tables_and_the_claims_look_are_checked_on_another_thread(
        province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's parts side by side: the parked tables and the look at the claims files on one thread, the other
    tables and the claims on this one, the look taken before the claims are checked."""
    threads: dict[str, set[int]] = {}
    started: list[str] = []
    check, look = year_module.check_folder, year_module.claims_look

    def seen(what: str) -> None:
        threads.setdefault(what, set()).add(threading.get_ident())
        started.append(what)

    def checked(folder: Path, *, tables: list[str]) -> object:
        seen("parked" if set(tables) <= set(PARKED_TABLES) else "others")
        return check(folder, tables=tables)

    def looked(path: Path) -> object:
        seen("look")
        return look(path)

    monkeypatch.setattr(year_module, "check_folder", checked)
    monkeypatch.setattr(year_module, "claims_look", looked)
    looks: list[object] = []

    def claims(*args: object, **kwargs: object) -> bool:
        seen("claims")
        looks.append(kwargs.get("look"))
        return check_claims_files(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(year_module, "check_claims_files", claims)
    data, parked, verdict = year_module._check_parking(province, tmp_path, province / "claims")
    assert verdict() is False  # the demo's claims are valid and none is padded
    assert set(parked) == {t for t in PARKED_TABLES if (province / f"{t}.parquet").exists()}
    assert data.tables and not set(data.tables) & set(PARKED_TABLES)
    main = threading.get_ident()
    assert threads["others"] == threads["claims"] == {main}
    assert len(threads["parked"] | threads["look"]) == 1 and main not in threads["parked"]
    assert started.index("look") < started.index("claims")
    assert looks == [claims_look(province / "claims")]  # the look taken on the other thread, handed to the check


def test_the_look_taken_before_is_the_look_the_check_takes(province: Path, tmp_path: Path) -> None:
    """``claims_look`` (taken without the engine's table, while the persons are checked) shows what the check's own
    look shows, whatever the files' columns: plain ones, a column of another type in one part, a missing column,
    large strings, the claim ids out of order."""
    def variants() -> list[tuple[str, object]]:
        return [("as made", None), ("diagnosis numbers", ("diagnosis", pa.int64())),
                ("no referral_from", "referral_from"), ("claim ids large", ("claim_id", pa.large_string())),
                ("claim ids out of order", "swap")]

    for name, change in variants():
        data = tmp_path / name
        shutil.copytree(province / "claims", data / "claims")
        parts = sorted((data / "claims").glob("*.parquet"))
        if isinstance(change, tuple):
            column, type_ = change
            t = pq.read_table(parts[0])
            i = t.column_names.index(column)
            values = t.column(i)
            values = pa.array(range(len(values))) if type_ == pa.int64() else values.cast(type_)
            pq.write_table(t.set_column(i, column, values), parts[0])
        elif change == "referral_from":
            for part in parts:
                pq.write_table(pq.read_table(part).drop_columns(["referral_from"]), part)
        elif change == "swap":
            t = pq.read_table(parts[0])
            pq.write_table(t.take(list(range(1, t.num_rows)) + [0]), parts[0])
        t = read_parquet(connect("duckdb"), str(data / "claims" / "*.parquet"))
        own = benefits._look_at_claims(data / "claims", t, refs=["person_id", "inst_id"])
        assert claims_look(data / "claims") == own, name
    assert own.unique is False  # (the last: out of order)


def test_the_claims_check_with_the_look_taken_before_says_what_it_says_without(province: Path,
                                                                              tmp_path: Path) -> None:
    """The run's claims check given the look taken beforehand: the same answer, the same problems."""
    data = _copy(province, tmp_path)
    folder = read_folder(data, tables=["persons", "institutions"])
    path = data / "claims"
    assert check_claims_files(folder, path, look=claims_look(path)) == check_claims_files(folder, path)
    _bad_claim(data)
    raised = []
    for look in (None, claims_look(path)):
        with pytest.raises(InvalidInput) as caught:
            check_claims_files(folder, path, look=look)
        raised.append(caught.value.problems)
    assert raised[0] == raised[1] and raised[0]


@pytest.mark.parametrize("when", ["parked not started", "parked started"])
def test_an_error_on_this_thread_does_not_wait_for_every_parked_table(
        province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """An error (or Ctrl-C) while the other tables are checked is raised without the other thread checking the
    parked tables it has not started (a province's follow-ups and surveys: seconds each): at most the one it checks."""
    check, look = year_module.check_folder, year_module.claims_look
    parked_checked: list[str] = []
    first_parked = threading.Event()

    def checked(folder: Path, *, tables: list[str]) -> object:
        if set(tables) <= set(PARKED_TABLES):
            parked_checked.extend(tables)
            first_parked.set()
            time.sleep(1)  # the error is raised while this table is checked
            return check(folder, tables=tables)
        if when == "parked started":
            assert first_parked.wait(30)
        raise KeyboardInterrupt

    def looked(path: Path) -> object:
        if when == "parked not started":
            time.sleep(0.5)  # the error comes while the look is taken
        return look(path)

    monkeypatch.setattr(year_module, "check_folder", checked)
    monkeypatch.setattr(year_module, "claims_look", looked)
    with pytest.raises(KeyboardInterrupt):
        year_module._check_parking(province, tmp_path, province / "claims")
    assert parked_checked == ([] if when == "parked not started" else list(PARKED_TABLES[:1]))
