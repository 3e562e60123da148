"""`yigongti check` on a large generated Parquet folder in a process with capped memory still finds planted errors
at their rows (issue 21: check in bounded memory, every problem named by file, row and column)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _id_numbers(start: int, n: int, males: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Valid, distinct 18-character resident ID numbers (GB 11643) of county 510727 for persons ``start`` to
    ``start + n``, with their sex digit; and their birth dates (days since 1970), 250 persons per day from 1950."""
    index = np.arange(start, start + n)
    births = index // 250 - 7300
    serial = index % 250
    born = births.astype("datetime64[D]").astype(str)  # YYYY-MM-DD
    digits = np.zeros((n, 18), dtype=np.uint8)
    digits[:, :6] = np.frombuffer(b"510727", dtype=np.uint8)
    ymd = np.frombuffer("".join(np.char.replace(born, "-", "")).encode(), dtype=np.uint8).reshape(n, 8)
    digits[:, 6:14] = ymd
    digits[:, 14] = ord("0") + serial // 50
    digits[:, 15] = ord("0") + serial // 5 % 10
    digits[:, 16] = ord("0") + (serial % 5) * 2 + males.astype(np.uint8)  # odd: male
    digits[:, 17] = CHECK[((digits[:, :17].astype(np.int64) - ord("0")) @ WEIGHTS) % 11]
    offsets = pa.py_buffer(np.arange(0, 18 * n + 1, 18, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(digits.tobytes())]), births


def make_folder(folder: Path, persons: int, claims: int, parts: int) -> dict[str, int]:
    """A folder of ``persons`` and ``claims`` in ``parts`` Parquet parts each, with errors planted; returns the
    (1-based data row + 1, as ``check`` names it) row of each planted error."""
    rng = np.random.default_rng(21)
    (folder / "persons").mkdir(parents=True)
    (folder / "claims").mkdir()
    (folder / "institutions.csv").write_text(
        "inst_id,name,tier,level,kind,consortium_id,parent_id,county_code,lon,lat\n"
        "H1,县医院,county,2,general,G1,,510727,104.2,32.6\n")
    (folder / "consortia.csv").write_text("consortium_id,name,county_code,lead_inst_id\nG1,一号医共体,510727,H1\n")
    planted = {"check digit": persons // 2 + 7, "unknown person": claims - 3, "duplicate claim": claims // 3 + 5,
               "covered": claims // 2 + 11}
    step = -(-persons // parts)
    for k, start in enumerate(range(0, persons, step)):
        n = min(step, persons - start)
        males = rng.integers(0, 2, n).astype(bool)
        ids, births = _id_numbers(start, n, males)
        row = planted["check digit"] - 2 - start
        if 0 <= row < n:  # a wrong check digit
            value = ids[row].as_py()
            bad = value[:17] + ("0" if value[17] != "0" else "1")
            ids = pa.array(ids.to_pylist()[:row] + [bad] + ids.to_pylist()[row + 1:], pa.string())
        pq.write_table(pa.table({
            "person_id": _ids("P", np.arange(start, start + n), 9), "id_number": ids,
            "sex": pa.array(np.where(males, "M", "F")), "birth_date": pa.array(births.astype("datetime64[D]")),
            "household_id": _ids("H", np.arange(start, start + n) // 3, 9),
            "insurance": pa.array(np.full(n, "resident")), "county_code": pa.array(np.full(n, "510727")),
            "lon": pa.array(np.full(n, 104.2)), "lat": pa.array(np.full(n, 32.6)),
        }), folder / "persons" / f"part-{k:05d}.parquet")
    step = -(-claims // parts)
    for k, start in enumerate(range(0, claims, step)):
        n = min(step, claims - start)
        numbers = np.arange(start, start + n)
        dup = planted["duplicate claim"] - 2 - start
        if 0 <= dup < n:
            numbers[dup] = numbers[dup - 1]
        person = rng.integers(0, persons, n)
        person_ids = _ids("P", person, 9)
        row = planted["unknown person"] - 2 - start
        if 0 <= row < n:
            person_ids = pc.if_else(pa.array(np.arange(n) == row), "P-NOBODY", person_ids)
        total = rng.integers(1, 10_000, n)
        covered = total // 2
        row = planted["covered"] - 2 - start
        if 0 <= row < n:
            covered[row] = total[row] + 1
        pq.write_table(pa.table({
            "claim_id": _ids("C", numbers, 10), "person_id": person_ids, "inst_id": pa.array(np.full(n, "H1")),
            "setting": pa.array(np.full(n, "outpatient")), "admit_date": pa.array(
                (np.datetime64("2026-01-01") + rng.integers(0, 365, n)).astype("datetime64[D]")),
            "total_cost": pa.array(total), "covered_cost": pa.array(covered),  # whole yuan
        }), folder / "claims" / f"part-{k:05d}.parquet")
    return planted


def _cap(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def run_capped(folder: Path, cap_mb: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "YIGONGTI_CHECK_MEMORY": "256MB", "OMP_NUM_THREADS": "2"}
    code = ("import resource, sys\n"
            "from yigongti.cli import main\n"
            "sys.argv = ['yigongti', 'check', sys.argv[1]]\n"
            "try:\n    main()\n"
            "finally:\n"
            "    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, env=env,
                          preexec_fn=lambda: _cap(cap_mb << 20), timeout=600, check=False)


def check_planted(folder: Path, planted: dict[str, int], cap_mb: int, rss_mb: int) -> None:
    res = run_capped(folder, cap_mb)
    assert res.returncode == 2, res.stderr[-3000:]
    lines = res.stderr.splitlines()
    peak = int(next(line for line in lines if line.startswith("peak_kb")).split()[1]) >> 10
    assert peak < rss_mb, f"peak RSS {peak} MB"
    problems = [line for line in lines if line.startswith(("persons/:", "claims/:"))]
    expect = [
        f"persons/:{planted['check digit']}:id_number:",
        f"claims/:{planted['unknown person']}:person_id: unknown person P-NOBODY / 参保人不存在",
        f"claims/:{planted['duplicate claim']}:claim_id: duplicate key",
        f"claims/:{planted['covered']}:covered_cost: covered cost exceeds total cost / 政策范围内费用大于总费用",
    ]
    for start in expect:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == 4, problems
    dup = next(p for p in problems if ":claim_id:" in p)
    assert f"(first on row {planted['duplicate claim'] - 1})" in dup


def test_a_generated_folder_is_checked_under_a_memory_cap(tmp_path: Path) -> None:
    """A folder of 300,000 persons and 1.2 M claims, in a process limited to 3 GB of address space."""
    folder = tmp_path / "d"
    planted = make_folder(folder, 300_000, 1_200_000, 4)
    check_planted(folder, planted, cap_mb=3072, rss_mb=1024)


@pytest.mark.slow
def test_a_large_generated_folder_is_checked_under_a_memory_cap(tmp_path: Path) -> None:
    """4 M persons and 24 M claims (28 M rows): peak RSS stays under 1.5 GB, address space capped at 4 GB."""
    folder = tmp_path / "d"
    planted = make_folder(folder, 4_000_000, 24_000_000, 24)
    check_planted(folder, planted, cap_mb=4096, rss_mb=1536)


@pytest.mark.parametrize("limit", [None, 3])
def test_the_key_store_finds_what_the_tables_in_memory_find(tmp_path: Path, limit: int | None) -> None:
    """``scan_folder`` (keys and references in DuckDB, what ``check`` runs) reports exactly what ``check_folder``
    (whole tables in memory) reports: duplicate keys out of order, unknown persons and referring claims, duplicate
    ID numbers, with the same count lines past a limit."""
    from yigongti.datafolder.folder import check_folder, scan_folder

    folder = tmp_path / "d"
    make_folder(folder, 20_000, 60_000, 3)
    part = folder / "claims" / "part-00001.parquet"
    t = pq.read_table(part)
    n = t.num_rows
    ids = t.column("claim_id").to_pylist()[::-1]  # out of order: the store's query finds the duplicates
    ids[10] = ids[500] = ids[20]
    refs: list[str | None] = [None] * n
    for k in range(0, n, 997):
        refs[k] = ids[(k * 7) % n] if k % 2 else f"C-NONE-{k}"
    people = t.column("person_id").to_pylist()
    for k in range(3, n, 1501):
        people[k] = f"P-NOBODY-{k}"
    t = t.set_column(t.column_names.index("claim_id"), "claim_id", pa.array(ids, pa.string()))
    t = t.set_column(t.column_names.index("person_id"), "person_id", pa.array(people, pa.string()))
    pq.write_table(t.append_column("referral_from", pa.array(refs, pa.string())), part)
    persons = folder / "persons" / "part-00002.parquet"
    p = pq.read_table(persons)
    numbers = p.column("id_number").to_pylist()
    numbers[40] = numbers[41] = numbers[5]
    pq.write_table(p.set_column(1, "id_number", pa.array(numbers, pa.string())), persons)

    stored = [str(x) for x in scan_folder(folder, limit=limit).problems]
    in_memory = [str(x) for x in check_folder(folder, limit=limit)[1]]
    assert stored == in_memory
    assert any(":claim_id: duplicate key" in x for x in stored)
    assert any("unknown referring claim C-NONE-" in x for x in stored)
    assert any("duplicate ID number" in x for x in stored)
    if limit is not None:
        assert any(x.startswith("claims/:0:person_id:") for x in stored)


def test_keys_increasing_in_each_part_with_parts_out_of_order(tmp_path: Path) -> None:
    """Parts each strictly increasing, in no order between them (a year's parts after another's): ranges that do not
    overlap hold no key twice (no query); one key of a part inside another part's range is still found, on its row,
    as the tables in memory find it."""
    from yigongti.datafolder.folder import check_folder, scan_folder

    folder = tmp_path / "d"
    make_folder(folder, 2_000, 6_000, 3)
    claims = folder / "claims"
    middle = pq.read_table(claims / "part-00001.parquet")  # the planted duplicate is here: make it increasing again
    fixed = _ids("C", np.arange(2_000, 2_000 + middle.num_rows), 10)
    pq.write_table(middle.set_column(0, "claim_id", fixed), claims / "part-00001.parquet")
    (claims / "part-00000.parquet").rename(claims / "tmp.parquet")
    (claims / "part-00002.parquet").rename(claims / "part-00000.parquet")  # the highest keys first
    (claims / "tmp.parquet").rename(claims / "part-00002.parquet")

    def duplicates() -> list[str]:
        stored = [str(x) for x in scan_folder(folder).problems]
        assert stored == [str(x) for x in check_folder(folder)[1]]
        return [x for x in stored if ":claim_id: duplicate key" in x]

    assert duplicates() == []
    first = pq.read_table(claims / "part-00000.parquet")
    ids = first.column("claim_id").to_pylist()
    ids[0] = fixed[middle.num_rows - 1].as_py()  # still increasing in its part, inside the middle part's range
    pq.write_table(first.set_column(0, "claim_id", pa.array(ids, pa.string())), claims / "part-00000.parquet")
    found = duplicates()
    assert len(found) == 1 and f"duplicate key {ids[0]}" in found[0], found


def test_parts_read_from_their_files_and_parts_copied_find_the_same(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The key store reads a Parquet part from its file when its kept columns are as written and copies it when the
    checks changed a cell (a key with a space trimmed, an ID number with a space): both kinds in one table, a file
    read in several parts, and the same problems as the tables in memory (a trimmed key equal to a key as written,
    a trimmed reference to a known person, unknown persons, duplicate ID numbers across the two kinds)."""
    from yigongti.datafolder import folder as folder_module
    from yigongti.datafolder import keystore
    from yigongti.datafolder.folder import check_folder, scan_folder

    folder = tmp_path / "d"
    make_folder(folder, 3_000, 9_000, 3)
    monkeypatch.setattr(folder_module, "PART_ROWS", 1_000)  # each file read in parts of 1,000 rows
    claims = folder / "claims" / "part-00001.parquet"
    t = pq.read_table(claims)
    ids = t.column("claim_id").to_pylist()
    ids[1500] = " " + ids[10]  # trimmed: the same key as a row of the file's first part
    people = t.column("person_id").to_pylist()
    people[1700] = people[1700] + " "  # trimmed: a known person
    people[20] = "P-NOBODY-20"
    t = t.set_column(0, "claim_id", pa.array(ids, pa.string()))
    t = t.set_column(1, "person_id", pa.array(people, pa.string()))
    pq.write_table(t, claims)
    persons = folder / "persons" / "part-00000.parquet"
    p = pq.read_table(persons)
    numbers = p.column("id_number").to_pylist()
    other = pq.read_table(folder / "persons" / "part-00002.parquet").column("id_number")[7].as_py()
    numbers[30] = other  # the same ID number as a row of a part read from its file
    numbers[900] = " " + numbers[900]  # this part is copied
    pq.write_table(p.set_column(1, "id_number", pa.array(numbers, pa.string())), persons)

    kinds: list[str] = []
    add, add_parquet = keystore.KeyStore.add, keystore.KeyStore.add_parquet
    monkeypatch.setattr(keystore.KeyStore, "add",
                        lambda self, name, *a: (kinds.append(f"copy {name}"), add(self, name, *a))[1])
    monkeypatch.setattr(keystore.KeyStore, "add_parquet",
                        lambda self, name, *a: (kinds.append(f"file {name}"), add_parquet(self, name, *a))[1])
    stored = [str(x) for x in scan_folder(folder).problems]
    assert {"copy claims", "file claims", "copy persons", "file persons"} <= set(kinds)
    assert stored == [str(x) for x in check_folder(folder)[1]]
    assert any(":claim_id: duplicate key" in x and "first on row" in x for x in stored)
    assert sum("duplicate ID number" in x for x in stored) == 1
    assert any("unknown person P-NOBODY-20" in x for x in stored)
    assert not any("unknown person" in x and "P-NOBODY" not in x for x in stored)
