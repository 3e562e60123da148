"""``--engine spark`` on a real standalone Spark cluster: a master and two workers started here from pyspark's own
distribution (one core, 1 GB each), the commands typed as a user types them with ``--spark-master spark://...``;
their files are byte-identical to the DuckDB run's on the same folder, and both workers ran executors."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parquet_parts import claims_in_parquet_parts
from test_settle_example import example_folder

pytestmark = pytest.mark.spark

STARTUP_S = 90


@dataclass(frozen=True)
class Cluster:
    url: str
    workers: tuple[Path, Path]  # each worker's work dir: an app-*/ folder per application it ran executors for
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark_home() -> Path:
    pyspark = pytest.importorskip("pyspark")
    return Path(pyspark.__file__).parent


def _wait_for(log: Path, text: str, count: int, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(text) >= count:
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.3)
    raise AssertionError(f"the Spark cluster did not start: {log.read_text(errors='replace')[-3000:]}")


@contextmanager
def standalone_cluster(tmp: Path, spark_home: Path, *, memory: str = "1g", executor_memory: str = "768m",
                       driver_memory: str = "1g") -> Iterator[Cluster]:
    """A Spark standalone master and two workers (1 core, ``memory`` each) on 127.0.0.1, free ports, logs and work
    dirs in ``tmp``; stopped on exit. Also used by benchmarks/bench_spark_cluster.py and bench_spark_province.py."""
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp),
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}
    spark_class = [str(spark_home / "bin" / "spark-class")]
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    try:
        master_log = tmp / "master.log"
        logs.append(master_log.open("wb"))
        procs.append(subprocess.Popen(
            [*spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(_free_port())], env=env, stdout=logs[-1], stderr=subprocess.STDOUT))
        _wait_for(master_log, "I have been elected leader", 1, procs)
        work = (tmp / "worker-1", tmp / "worker-2")
        for i, wdir in enumerate(work, 1):
            wdir.mkdir()
            logs.append((tmp / f"worker-{i}.log").open("wb"))
            procs.append(subprocess.Popen(
                [*spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                 "--memory", memory, "--webui-port", str(_free_port()), "--work-dir", str(wdir), url],
                env=env, stdout=logs[-1], stderr=subprocess.STDOUT))
        _wait_for(master_log, "Registering worker", 2, procs)
        run_env = {**env, "YIGONGTI_SPARK_DRIVER_MEMORY": driver_memory,
                   "YIGONGTI_SPARK_EXECUTOR_MEMORY": executor_memory}
        yield Cluster(url, work, run_env)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for fh in logs:
            fh.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed (scripts/services.sh installs it)")
    home = _spark_home()
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), home) as c:
        yield c


def _yigongti(*args: str, env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    run_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "yigongti.cli", *args], env=run_env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == code, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _apps(workers: tuple[Path, Path]) -> list[int]:
    return [len(list(w.glob("app-*"))) for w in workers]


def test_adjudicate_on_a_cluster_writes_duckdbs_bytes(cluster: Cluster, example_input: Path,
                                                     example_expected: Path, tmp_path: Path) -> None:
    data = example_folder(example_input, example_expected, tmp_path / "county")
    (data / "adjudicated.csv").unlink()  # adjudicate it, not read it
    before = _apps(cluster.workers)
    _yigongti("adjudicate", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "duck"), env=cluster.env)
    _yigongti("adjudicate", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "spark"),
              "--backend", "spark", "--spark-master", cluster.url, env=cluster.env)
    on_duckdb, on_spark = _files(tmp_path / "duck"), _files(tmp_path / "spark")
    assert list(on_spark) == ["adjudicated.csv"]
    assert on_spark == on_duckdb
    assert on_spark["adjudicated.csv"].count(b"\n") > 900
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]  # both workers computed


@pytest.mark.slow
def test_settle_on_a_cluster_writes_duckdbs_bytes(cluster: Cluster, example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "county"
    shutil.copytree(example_input, data)  # no 2026 designations, no adjudicated: every step runs on the engine
    before = _apps(cluster.workers)
    _yigongti("settle", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "duck"), env=cluster.env)
    env = {**cluster.env, "YIGONGTI_SPARK_MASTER": cluster.url}  # the master from the environment this time
    _yigongti("settle", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "spark"), "--engine", "spark",
              env=env)
    on_duckdb, on_spark = _files(tmp_path / "duck"), _files(tmp_path / "spark")
    assert "settlement.csv" in on_spark and any(n.endswith(".html") for n in on_spark)
    assert sorted(on_spark) == sorted(on_duckdb)
    for name, content in on_duckdb.items():
        assert on_spark[name] == content, name
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]


def test_spark_spreads_person_tables_by_county(example_input: Path) -> None:
    from yigongti.core.engine import connect, partition_by_county, register_arrow
    from yigongti.datafolder.folder import read_folder

    data = read_folder(example_input)
    con = connect("spark", master="local[2]")  # this process's session (getOrCreate), local mode
    partition_by_county(con, data["persons"])
    claims = register_arrow(con, data["claims"], "county_claims")
    institutions = register_arrow(con, data["institutions"], "county_institutions")
    for name in ("county_claims", "county_institutions"):
        plan = con._session.table(name)._jdf.queryExecution().executedPlan().toString()
        assert "hashpartitioning(county_code" in plan, plan
    # spreading changes no row and no column
    assert claims.columns == tuple(data["claims"].column_names)
    got = claims.to_pyarrow().sort_by("claim_id")
    assert got.to_pylist() == data["claims"].sort_by("claim_id").to_pylist()
    assert institutions.count().execute() == data["institutions"].num_rows


def _parquet_claims_folder(example_input: Path, target: Path) -> Path:
    """The example county with its claims as a folder of three Parquet parts (money in decimal yuan)."""
    return claims_in_parquet_parts(example_input, target, 3)


def test_parquet_claims_read_by_the_cluster_give_duckdbs_bytes(cluster: Cluster, example_input: Path,
                                                               tmp_path: Path) -> None:
    """Parquet claims on Spark: the executors read them (the driver never does), ``adjudicate`` writes DuckDB's bytes;
    the folder given as a ``file://`` URI."""
    data = _parquet_claims_folder(example_input, tmp_path / "county")
    before = _apps(cluster.workers)
    _yigongti("adjudicate", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "duck"), "--format", "csv",
              env=cluster.env)
    _yigongti("adjudicate", "--data", data.as_uri(), "--year", "2026", "--out", str(tmp_path / "spark"),
              "--format", "csv", "--engine", "spark", "--spark-master", cluster.url, env=cluster.env)
    on_duckdb, on_spark = _files(tmp_path / "duck"), _files(tmp_path / "spark")
    assert list(on_spark) == ["adjudicated.csv"]  # the executors' scratch parts are gone
    assert on_spark == on_duckdb
    assert on_spark["adjudicated.csv"].count(b"\n") > 900
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]


@pytest.mark.slow
def test_settle_with_parquet_claims_on_a_cluster_writes_duckdbs_bytes(cluster: Cluster, example_input: Path,
                                                                     tmp_path: Path) -> None:
    """``settle`` with Parquet claims read by the executors writes DuckDB's bytes (-m slow: about 2 minutes)."""
    data = _parquet_claims_folder(example_input, tmp_path / "county")
    before = _apps(cluster.workers)
    _yigongti("settle", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "duck-settle"),
              "--no-reports", env=cluster.env)
    _yigongti("settle", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "spark-settle"),
              "--no-reports", "--engine", "spark", "--spark-master", cluster.url, env=cluster.env)
    on_duckdb, on_spark = _files(tmp_path / "duck-settle"), _files(tmp_path / "spark-settle")
    assert "settlement.csv" in on_spark and sorted(on_spark) == sorted(on_duckdb)
    for name, content in on_duckdb.items():
        assert on_spark[name] == content, name
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]


def test_spark_reads_parquet_claims_spread_by_county(example_input: Path, tmp_path: Path) -> None:
    from yigongti.core.engine import connect, partition_by_county, read_parquet
    from yigongti.datafolder.folder import read_folder

    data = _parquet_claims_folder(example_input, tmp_path / "county")
    persons = read_folder(example_input)["persons"]
    con = connect("spark", master="local[2]")
    partition_by_county(con, persons)
    claims = read_parquet(con, str(data / "claims" / "*.parquet"), "county_parquet_claims")
    plan = con._session.table("county_parquet_claims")._jdf.queryExecution().executedPlan().toString()
    assert "hashpartitioning(county_code" in plan and "FileScan parquet" in plan, plan

    expected = pq.read_table(sorted((data / "claims").glob("*.parquet")))
    assert claims.columns == tuple(expected.column_names)
    assert claims.count().execute() == expected.num_rows


def test_bad_parquet_claims_on_spark_are_named_by_file_row_and_column(example_input: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The claims check runs as a Spark aggregate, once (Spark's first scan looks the trimmed ids up already); a
    failing claim is named (file, row, column) and nothing is written."""
    import pyarrow.compute as pc

    from yigongti.benefits import service as benefits
    from yigongti.benefits.service import adjudicate_folder
    from yigongti.core.policy import Policy
    from yigongti.core.problems import InvalidInput

    data = _parquet_claims_folder(example_input, tmp_path / "county")
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    persons = t.column("person_id").to_pylist()
    persons[4] = "NOBODY"
    t = t.set_column(t.column_names.index("person_id"), "person_id", pa.array(persons, pa.string()))
    pq.write_table(t, part)
    assert pc.sum(pc.equal(t.column("person_id"), "NOBODY")).as_py() == 1
    scans: list[bool] = []
    real = benefits.bad_claims_count

    def counted(*args: Any, **kwargs: Any) -> Any:
        scans.append(bool(kwargs.get("as_written")))
        return real(*args, **kwargs)

    monkeypatch.setattr(benefits, "bad_claims_count", counted)
    with pytest.raises(InvalidInput) as exc:
        adjudicate_folder(data, 2026, Policy(), tmp_path / "out", backend="spark")
    assert scans == [True]
    problems = exc.value.problems
    # as ``yigongti check`` names it: the claims folder, the row across its parts, the part and its record
    assert [(p.file, p.row, p.column) for p in problems if not p.warning] == [("claims/", 358, "person_id")], problems
    assert "NOBODY" in problems[0].message and "part-1.parquet record 5" in problems[0].message
    assert not (tmp_path / "out" / "adjudicated.csv").exists()



def _with_person_ids(data: Path, changes: dict[int, str]) -> Path:
    """``data``'s claims part-1 with some person ids changed (row -> id; ``{}`` as the id: written around it)."""
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    ids = t.column("person_id").to_pylist()
    for row, new in changes.items():
        ids[row] = new.format(ids[row])
    pq.write_table(t.set_column(t.column_names.index("person_id"), "person_id", pa.array(ids, pa.string())), part)
    return data


def test_spark_checks_claims_references_with_a_join_not_a_nested_loop(example_input: Path, tmp_path: Path) -> None:
    """The claims check's references (person_id, inst_id) on Spark: a left join with the known ids, never Spark's
    nested loop over claims x ids (a province's check never finished); an id written with spaces around it is
    known, an unknown one counts, as on DuckDB."""
    from yigongti.benefits.service import bad_claims_count
    from yigongti.core.engine import connect, read_parquet, register_arrow
    from yigongti.datafolder.folder import read_folder

    folders = {"spaced": _with_person_ids(_parquet_claims_folder(example_input, tmp_path / "a"), {2: "  {} "}),
               "unknown": _with_person_ids(_parquet_claims_folder(example_input, tmp_path / "b"),
                                           {2: "  {} ", 5: "NOBODY"})}
    tables = read_folder(example_input)
    counts = {}
    for kind, con in (("duckdb", connect("duckdb")), ("spark", connect("spark", master="local[2]"))):
        persons = register_arrow(con, tables["persons"].select(["person_id"]))
        institutions = register_arrow(con, tables["institutions"].select(["inst_id"]))
        for name, data in folders.items():
            claims = read_parquet(con, str(data / "claims" / "*.parquet"))
            bad = bad_claims_count(claims, persons=persons, institutions=institutions)
            assert bad is not None
            if kind == "spark":
                plan = con._session.sql(str(con.compile(bad)))._jdf.queryExecution().executedPlan().toString()
                assert "NestedLoopJoin" not in plan and "Join" in plan, plan
            counts[kind, name] = bad.to_pyarrow().column("n")[0].as_py()
    assert counts == {("duckdb", "spaced"): 0, ("duckdb", "unknown"): 1, ("spark", "spaced"): 0,
                      ("spark", "unknown"): 1}


def _problem_lines(stderr: str) -> list[str]:
    """The problems a ``check`` printed (``file:row:column: message``), without Spark's log and progress bar (which
    writes over a line with carriage returns)."""
    lines = re.split(r"[\r\n]", stderr)
    return [m.group(1) for m in map(_PROBLEM.search, lines) if m]


_PROBLEM = re.compile(r"(claims/:\d+:\S+: .*)$")


def _bad_claims(data: Path) -> Path:
    """``data``'s claims part-1 with an unknown person, a repeated claim id, an unknown institution and a diagnosis
    that begins like a spreadsheet formula (a warning)."""
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    d = t.to_pydict()
    d["person_id"][4] = "NOBODY"
    d["claim_id"][7] = d["claim_id"][6]
    d["diagnosis"][9] = "=SUM(A1)"
    d["inst_id"][11] = "NOINST"
    pq.write_table(pa.table(d, schema=t.schema), part)
    return data


def test_check_on_a_cluster_lists_duckdbs_problems(cluster: Cluster, example_input: Path, tmp_path: Path) -> None:
    """``check --engine spark``: the executors check the Parquet claims; a folder with bad claims gets the problems
    DuckDB's ``check`` lists (file, row, column, message), the same summary and exit code."""
    data = _bad_claims(_parquet_claims_folder(example_input, tmp_path / "county"))
    before = _apps(cluster.workers)
    on_duckdb = _yigongti("check", str(data), env=cluster.env, code=2)
    on_spark = _yigongti("check", str(data), "--engine", "spark", "--spark-master", cluster.url, env=cluster.env,
                         code=2)
    problems = _problem_lines(on_duckdb.stderr)
    assert [p.split(":")[2] for p in problems] == ["person_id", "claim_id", "diagnosis", "inst_id"], problems
    assert _problem_lines(on_spark.stderr) == problems
    assert on_spark.stdout == on_duckdb.stdout  # "3 problem(s)"
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]


def test_check_on_spark_lists_the_claims_on_the_driver_only_when_the_engine_finds_something(
        example_input: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``check --engine spark`` gives DuckDB's report (problems, rows per table); the driver checks the claims only
    when the engine finds a problem or a cell to warn of (a formula-like diagnosis: a warning, the folder valid)."""
    from yigongti.benefits import folder_check
    from yigongti.datafolder.service import check_data_folder

    valid = _parquet_claims_folder(example_input, tmp_path / "valid")
    warned = _parquet_claims_folder(example_input, tmp_path / "warned")
    part = warned / "claims" / "part-2.parquet"
    t = pq.read_table(part)
    diagnoses = t.column("diagnosis").to_pylist()
    diagnoses[3] = "+1"
    pq.write_table(t.set_column(t.column_names.index("diagnosis"), "diagnosis", pa.array(diagnoses)), part)
    expected = {f: check_data_folder(f) for f in (valid, warned)}
    assert expected[valid].problems == [] and [p.warning for p in expected[warned].problems] == [True]

    driver: list[Path] = []

    def on_the_driver(folder: Path, **kwargs: Any) -> Any:
        driver.append(folder)
        return check_data_folder(folder, **kwargs)

    monkeypatch.setattr(folder_check, "check_data_folder", on_the_driver)
    for folder in (valid, warned):
        report = folder_check.check_folder_on(folder, engine="spark")
        assert report.problems == expected[folder].problems
        assert list(report.rows.items()) == list(expected[folder].rows.items())
    assert driver == [warned]


@pytest.mark.slow
def test_run_with_parquet_claims_on_a_cluster_writes_duckdbs_bytes(cluster: Cluster, example_input: Path,
                                                                   tmp_path: Path) -> None:
    """``run --engine spark`` with Parquet claims: the executors read, check and adjudicate them (never the driver)
    and every file of the year is DuckDB's byte for byte (-m slow: a few minutes on 2 cores)."""
    data = _parquet_claims_folder(example_input, tmp_path / "county")
    before = _apps(cluster.workers)
    _yigongti("run", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "duck"), "--format", "csv",
              env=cluster.env)
    _yigongti("run", "--data", str(data), "--year", "2026", "--out", str(tmp_path / "spark"), "--format", "csv",
              "--engine", "spark", "--spark-master", cluster.url, env=cluster.env)
    on_duckdb, on_spark = _files(tmp_path / "duck"), _files(tmp_path / "spark")
    assert {"adjudicated.csv", "settlement.csv", "designations.csv"} <= set(on_spark)
    assert sorted(on_spark) == sorted(on_duckdb)  # the scratch parts are gone
    for name, content in on_duckdb.items():
        assert on_spark[name] == content, name
    assert [a - b for a, b in zip(_apps(cluster.workers), before, strict=True)] == [1, 1]


def test_run_on_spark_checks_the_parquet_claims_before_it_writes_anything(example_input: Path, tmp_path: Path) -> None:
    """``run`` on Spark with Parquet claims: the executors check them before the first step; bad claims stop it
    with each problem named (file, row, column) as ``check`` names it, and nothing is written."""
    from yigongti.budget.year import run_year
    from yigongti.core.problems import InvalidInput

    data = _bad_claims(_parquet_claims_folder(example_input, tmp_path / "county"))
    steps: list[str] = []
    with pytest.raises(InvalidInput) as exc:
        run_year(data, 2026, tmp_path / "out", backend="spark", step=steps.append)
    assert steps == ["check"]
    assert [(p.file, p.row, p.column) for p in exc.value.problems] == [
        ("claims/", 358, "person_id"), ("claims/", 361, "claim_id"), ("claims/", 365, "inst_id")]
    assert not (tmp_path / "out").exists()


def _uneven_parts(example_input: Path, target: Path) -> Path:
    """Parquet claims whose first part lacks the optional columns referral_from and diagnosis (Spark reads one
    part's columns unless told to merge them) while the next names an unknown referring claim and a diagnosis that
    begins like a spreadsheet formula: a problem and a warning of ``check``."""
    data = _parquet_claims_folder(example_input, target)
    first = data / "claims" / "part-0.parquet"
    pq.write_table(pq.read_table(first).drop(["referral_from", "diagnosis"]), first)
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    d = t.to_pydict()
    d["referral_from"][5] = "NOSUCHCLAIM"
    d["diagnosis"][6] = "=SUM(A1)"
    pq.write_table(pa.table(d, schema=t.schema), part)
    return data


def _hidden_part(example_input: Path, target: Path) -> Path:
    """Parquet claims with a part named ``_part-1.parquet`` (a name Hadoop's listing hides: Spark skips the file)
    holding a claim of an unknown person."""
    data = _parquet_claims_folder(example_input, target)
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    d = t.to_pydict()
    d["person_id"][5] = "NOBODY"
    pq.write_table(pa.table(d, schema=t.schema), data / "claims" / "_part-1.parquet")
    part.unlink()
    return data


def test_check_on_spark_sees_every_part_check_reads(example_input: Path, tmp_path: Path) -> None:
    """``check --engine spark`` reports what ``check`` reports when the claims' parts differ in their columns or one
    is named like a hidden file: never a folder clean that ``check`` finds a problem in."""
    from yigongti.benefits.folder_check import check_folder_on
    from yigongti.datafolder.service import check_data_folder

    for data in (_uneven_parts(example_input, tmp_path / "uneven"), _hidden_part(example_input, tmp_path / "hidden")):
        expected = check_data_folder(data)
        assert [p.column for p in expected.problems] in (["referral_from", "diagnosis"], ["person_id"])
        report = check_folder_on(data, engine="spark")
        assert report.problems == expected.problems, data.name
        assert report.rows == expected.rows


def test_run_on_spark_reads_every_part_or_refuses(example_input: Path, tmp_path: Path) -> None:
    """``run`` on Spark checks the columns of every part (the unknown referring claim of a part whose columns the
    first part lacks stops it), and refuses a part Spark would skip, naming it: nothing written either way."""
    from yigongti.budget.year import run_year
    from yigongti.core.problems import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        run_year(_uneven_parts(example_input, tmp_path / "uneven"), 2026, tmp_path / "out1", backend="spark")
    assert [(p.file, p.row, p.column) for p in exc.value.problems] == [("claims/", 359, "referral_from")]
    assert not (tmp_path / "out1").exists()
    with pytest.raises(InvalidInput) as exc:
        run_year(_hidden_part(example_input, tmp_path / "hidden"), 2026, tmp_path / "out2", backend="spark")
    assert [p.file for p in exc.value.problems] == ["claims/_part-1.parquet"]
    assert not (tmp_path / "out2").exists()
