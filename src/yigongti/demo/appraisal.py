"""Demo appraisal tables (考核演示数据): the optional inputs of ``yigongti appraise`` for a demo county.

``write_appraisal_tables(folder, seed=..., year=...)`` reads a demo data folder (persons, institutions, consortia,
claims, designations) and writes checklist, postings, remote_diagnoses, equipment, staff_income, followups, deaths,
surveys and contracts for ``year``, in the folder's format (CSV, or Parquet when persons is Parquet). Vectorised with
NumPy; the same folder, seed and year give byte-identical files.

Rates are plausible, not official: adult hypertension / diabetes prevalence about 25% / 11% (rules.md §9), about
70% of patients managed, 4 follow-ups a year for most; 6 in 10 persons (8.5 in 10 aged 65+) with a family-doctor
contract; deaths by a Gompertz curve.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yigongti.core.money import format_yuan
from yigongti.datafolder.folder import find_table_file, write_table
from yigongti.demo.calibration import DEFAULT_CALIBRATION

__all__ = ["APPRAISAL_DEMO_TABLES", "write_appraisal_tables"]

APPRAISAL_DEMO_TABLES = ("checklist", "postings", "remote_diagnoses", "equipment", "staff_income", "followups",
                         "deaths", "surveys", "contracts")
CHECKLIST_ITEMS = ("1.1.a", "1.1.b", "1.1.c", "1.1.d", "1.2.a", "1.2.b", "1.2.c", "1.2.d", "1.3.a", "1.3.b", "1.3.c",
                   "1.3.d", "1.3.e", "1.3.f")
DEATH_CAUSES = np.array(["I21.9", "I63.9", "C34.9", "C16.9", "E11.9", "J44.9", "S06.9", "A41.9"])
DEATH_WEIGHTS = np.array([0.16, 0.20, 0.14, 0.08, 0.05, 0.12, 0.10, 0.15])


def _read(folder: Path, name: str, columns: list[str], *, part: int | None = None) -> pa.Table | None:
    """The table's ``columns`` as text; ``part``: only that file of a Parquet folder (None: every file; a CSV file
    or one Parquet file is part 0)."""
    path = find_table_file(folder, name)
    if path is None:
        return None
    if path.is_dir() or path.suffix == ".parquet":
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        have = set(pq.read_schema(files[0]).names)
        table = pq.read_table(files if part is None else files[part], columns=[c for c in columns if c in have])
    else:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=columns, include_missing_columns=True,
            column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True))
    return pa.table({c: pc.cast(table.column(c), pa.string()) if c in table.column_names
                     else pa.nulls(table.num_rows, pa.string()) for c in columns})


def _parts(folder: Path, name: str) -> int:
    """How many parts :func:`_read` reads the table in (0: no such table)."""
    path = find_table_file(folder, name)
    return 0 if path is None else len(sorted(path.glob("*.parquet"))) if path.is_dir() else 1


def _col(t: pa.Table, name: str) -> np.ndarray:
    out: np.ndarray = np.asarray(t.column(name).to_pylist(), dtype=object)
    return out


def _dates(year: int, days: np.ndarray) -> np.ndarray:
    """ISO dates ``days`` after Jan 1 of ``year`` (vectorised)."""
    return (np.datetime64(f"{year}-01-01") + np.asarray(days, dtype="timedelta64[D]")).astype(str)


def _write(table: pa.Table, folder: Path, name: str, fmt: str) -> None:
    write_table(table, folder, name, fmt=fmt)


def _strings(cols: Mapping[str, object]) -> pa.Table:
    """Columns as text in the contract's form (a Parquet folder then reads back like CSV)."""
    out = {}
    for k, vs in cols.items():
        if isinstance(vs, pa.Array | pa.ChunkedArray):
            out[k] = pc.cast(vs, pa.string())
            continue
        arr = np.asarray(vs, dtype=object) if not isinstance(vs, np.ndarray) else vs
        out[k] = pc.cast(pa.array(arr if arr.dtype != object else list(arr)), pa.string())
    return pa.table(out)


def write_appraisal_tables(folder: Path, *, seed: int, year: int) -> None:
    """Write the nine appraisal tables for ``year`` into the demo ``folder``."""
    folder = Path(folder)
    rng = np.random.default_rng([seed, year, 6])
    persons_path = find_table_file(folder, "persons")
    if persons_path is None:
        raise FileNotFoundError(f"{folder}: no persons table / 缺少参保人表")
    fmt = "csv" if persons_path.suffix == ".csv" else "parquet"
    inst = _read(folder, "institutions", ["inst_id", "tier", "level", "kind", "consortium_id", "parent_id"])
    cons = _read(folder, "consortia", ["consortium_id", "lead_inst_id"])
    persons = _read(folder, "persons", ["person_id", "birth_date"])
    assert inst is not None and cons is not None and persons is not None
    days_in_year = (date(year + 1, 1, 1) - date(year, 1, 1)).days

    ids, tiers = _col(inst, "inst_id"), _col(inst, "tier")
    cons_of = _col(inst, "consortium_id")
    members = np.flatnonzero([c is not None for c in cons_of])
    lead_of = dict(zip(_col(cons, "consortium_id"), _col(cons, "lead_inst_id"), strict=True))
    primary = members[np.isin(tiers[members], ["township", "village"])]
    villages = members[tiers[members] == "village"]

    # checklist: each consortium, 14 items, 85% passed
    cid = sorted(lead_of)
    n_items = len(CHECKLIST_ITEMS)
    _write(_strings({"unit_id": np.repeat(cid, n_items), "year": [year] * (len(cid) * n_items),
                     "item": np.tile(CHECKLIST_ITEMS, len(cid)),
                     "passed": np.where(rng.random(len(cid) * n_items) < 0.85, "true", "false")}),
           folder, "checklist", fmt)

    # postings: 1-3 doctors from the lead hospital to each township institution
    towns = members[tiers[members] == "township"]
    k = rng.integers(1, 4, len(towns))
    to = np.repeat(ids[towns], k)
    frm = np.array([lead_of[c] for c in np.repeat(cons_of[towns], k)], dtype=object)
    n = len(to)
    start = rng.integers(-120, 200, n)
    length = rng.choice([90, 180, 365, 730], n, p=[0.2, 0.2, 0.4, 0.2])
    titles = rng.choice(["junior", "intermediate", "associate_senior", "senior"], n, p=[0.15, 0.5, 0.25, 0.1])
    _write(_strings({"staff_id": [f"D{seed}-{year}-{i:05d}" for i in range(n)], "from_inst_id": frm,
                     "to_inst_id": to, "title": titles, "start_date": _dates(year, start),
                     "end_date": _dates(year, start + length - 1)}), folder, "postings", fmt)

    # remote diagnoses: Poisson per primary institution, to its consortium's lead hospital
    lam = np.where(tiers[primary] == "township", 60.0, 6.0)
    k = rng.poisson(lam)
    frm = np.repeat(ids[primary], k)
    n = len(frm)
    to = np.array([lead_of[c] for c in np.repeat(cons_of[primary], k)], dtype=object)
    _write(_strings({"request_id": [f"RD{year}-{i:07d}" for i in range(n)], "from_inst_id": frm, "to_inst_id": to,
                     "date": _dates(year, rng.integers(0, days_in_year, n)),
                     "kind": rng.choice(["imaging", "ecg", "ultrasound", "pathology", "consultation"], n,
                                        p=[0.35, 0.3, 0.2, 0.05, 0.1])}), folder, "remote_diagnoses", fmt)

    # equipment: 70% of villages have an ECG machine
    _write(_strings({"inst_id": ids[villages], "year": [year] * len(villages), "item": ["ecg"] * len(villages),
                     "quantity": (rng.random(len(villages)) < 0.7).astype(int)}), folder, "equipment", fmt)

    # staff and income by tier
    t = tiers[members]
    staff = np.where(t == "county", rng.integers(150, 600, len(t)),
                     np.where(t == "township", rng.integers(15, 60, len(t)), rng.integers(1, 4, len(t))))
    avg = np.where(t == "county", 150_000, np.where(t == "township", 105_000, 55_000)) * rng.uniform(0.85, 1.15, len(t))
    income_fen = (staff * avg * 100).astype(np.int64)
    _write(_strings({"inst_id": ids[members], "year": [year] * len(t), "staff": staff,
                     "income": [format_yuan(int(v)) for v in income_fen]}), folder, "staff_income", fmt)

    # persons: age, designated village (last designations in the folder), chronic patients. Per person only
    # numbers and Arrow columns (ids taken by position): no Python object per person, so that a province's
    # 10 M persons fit in a few GB
    pid = persons.column("person_id").combine_chunks()
    n_persons = len(pid)
    birth_year = pc.cast(pc.utf8_slice_codeunits(persons.column("birth_date"), 0, 4), pa.int64()).to_numpy()
    age = year - birth_year
    del persons, birth_year
    villages_text, village_pick = _village_of(folder, pid, villages, ids, rng)
    ht = (age >= 35) & (rng.random(n_persons) < np.clip((age - 25) / 160, 0, 0.6))
    dm = (age >= 35) & (rng.random(n_persons) < np.clip((age - 25) / 400, 0, 0.25))
    # known from the claims of the year and its lead-in weeks (not the rest of last year), read file by file: a
    # province's claims (140 M rows at 10 M persons) are never held whole
    since = (date(year, 1, 1) - timedelta(days=DEFAULT_CALIBRATION.lead_in_days)).isoformat()
    for i in range(_parts(folder, "claims")):
        claims = _read(folder, "claims", ["person_id", "diagnosis", "admit_date"], part=i)
        assert claims is not None
        claims = claims.filter(pc.greater_equal(pc.fill_null(claims.column("admit_date"), since), since))
        diag = pc.utf8_slice_codeunits(pc.fill_null(claims.column("diagnosis"), ""), 0, 3)
        for flag, codes in ((ht, ["I10", "I11", "I12", "I13", "I15"]), (dm, ["E10", "E11", "E12", "E13", "E14"])):
            known = pc.unique(pc.filter(claims.column("person_id"), pc.is_in(diag, pa.array(codes))))
            flag |= pc.is_in(pid, value_set=known).to_numpy(zero_copy_only=False)
    parts: dict[str, list[pa.Array]] = {"person_id": [], "inst_id": [], "date": [], "disease": [],
                                         "controlled": []}
    for disease, flag, p_ctl in (("hypertension", ht, 0.62), ("diabetes", dm, 0.55)):
        managed = np.flatnonzero(flag & (rng.random(n_persons) < 0.7))
        k = rng.choice([1, 2, 3, 4, 5, 6], len(managed), p=[0.05, 0.08, 0.12, 0.55, 0.1, 0.1])
        who = np.repeat(managed, k)
        slot = np.arange(len(who)) - np.repeat(np.cumsum(k) - k, k)  # 0..k-1 within each patient
        day = np.minimum(days_in_year - 1, (slot * days_in_year // np.repeat(k, k)) + rng.integers(0, 60, len(who)))
        parts["person_id"].append(pid.take(who))
        parts["inst_id"].append(villages_text.take(village_pick[who]))
        parts["date"].append(_date_text(year, day))
        parts["disease"].append(pa.repeat(pa.scalar(disease, pa.string()), len(who)))
        parts["controlled"].append(_true_false(rng.random(len(who)) < p_ctl))
        del who, slot, day
    _write(pa.table({k: pa.chunked_array(v) for k, v in parts.items()}), folder, "followups", fmt)
    del parts

    # deaths: Gompertz by age
    q = np.clip(0.0004 * np.exp(0.085 * (age - 30)), 0.0002, 0.3)
    dead = np.flatnonzero(rng.random(n_persons) < q)
    _write(_strings({"person_id": pid.take(dead),
                     "death_date": _date_text(year, rng.integers(0, days_in_year, len(dead))),
                     "cause": rng.choice(DEATH_CAUSES, len(dead), p=DEATH_WEIGHTS)}), folder, "deaths", fmt)

    # surveys: responses per member institution
    k = rng.poisson(np.where(t == "county", 120, np.where(t == "township", 40, 8)))
    where = np.repeat(ids[members], k)
    p_sat = np.repeat(np.where(t == "county", 0.86, 0.9), k)
    _write(_strings({"response_id": [f"SV{year}-{i:07d}" for i in range(len(where))], "inst_id": where,
                     "date": _dates(year, rng.integers(0, days_in_year, len(where))),
                     "satisfied": np.where(rng.random(len(where)) < p_sat, "true", "false")}), folder, "surveys", fmt)

    # family-doctor contracts: yearly contracts signed in the last two years
    signed = np.flatnonzero(rng.random(n_persons) < np.where(age >= 65, 0.85, 0.6))
    start = rng.integers(-days_in_year, days_in_year, len(signed))
    _write(pa.table({"person_id": pid.take(signed), "inst_id": villages_text.take(village_pick[signed]),
                     "start_date": _date_text(year, start), "end_date": _date_text(year, start + 364)}),
           folder, "contracts", fmt)


def _village_of(folder: Path, pid: pa.Array, villages: np.ndarray, ids: np.ndarray,
                rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Each person's designated village institution (the folder's latest designations), else a random village: as
    (village ids, each person's position in them), not one text per person."""
    text: pa.Array = pa.array(list(ids[villages]), pa.string())
    pick: np.ndarray = rng.integers(0, len(villages), len(pid))
    des = _read(folder, "designations", ["person_id", "year", "village_id"])
    if des is not None and des.num_rows:
        years = pc.cast(des.column("year"), pa.int64())
        latest = pc.filter(des, pc.equal(years, pc.max(years)))
        found = pc.fill_null(pc.index_in(latest.column("person_id"), value_set=pid), -1)
        pos = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
        ok = pos >= 0
        pick[pos[ok]] = len(text) + np.flatnonzero(ok)  # the last of a person's rows wins, as before
        text = pa.concat_arrays([text, latest.column("village_id").combine_chunks()])
    return text, pick


def _date_text(year: int, days: np.ndarray) -> pa.Array:
    """ISO dates ``days`` after Jan 1 of ``year``, as text (the same as :func:`_dates`, without a NumPy string per
    row)."""
    jan1 = (date(year, 1, 1) - date(1970, 1, 1)).days
    return pc.cast(pa.array(np.asarray(days, dtype=np.int64) + jan1, pa.int64()).cast(pa.int32()).cast(pa.date32()),
                   pa.string())


def _true_false(mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask, pa.bool_()), pa.scalar("true"), pa.scalar("false"))
