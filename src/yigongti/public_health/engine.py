"""Report cards from a year's claims, columnar (理赔数据中的传染病报告卡): Ibis on DuckDB.

For a county without the doctor workstation: every claim of the year whose diagnosis is on the disease list is a
diagnosis at the claim's institution, at its admit date's midnight (零时). The episodes of ``domain`` are computed
in the engine (a window per person and disease: a claim opens a new card when the previous diagnosis of the same
person and disease is more than ``episode_days`` days before it), so only the matching claims ever reach a window and
nothing is held as Python rows: Parquet claims (a file or a folder of parts) stream from disk, bounded memory.

The disease list is read here (:func:`load_catalogue`): the policy's ``public_health.diseases`` file (absolute, or
relative to ``base``), else the list shipped with yigongti (``diseases.toml`` beside this module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir

from yigongti.core.engine import connect, register_arrow
from yigongti.core.policy import PublicHealthPolicy
from yigongti.core.problems import InvalidInput, Problem
from yigongti.datafolder.folder import find_table_file, neutralise_ibis, read_folder
from yigongti.public_health.domain import (
    Catalogue,
    CatalogueError,
    FoodborneList,
    catalogue_from_toml,
    foodborne_from_toml,
)

__all__ = [
    "DEFAULT_DISEASES",
    "DEFAULT_FOODBORNE",
    "load_foodborne",
    "REPORT_COLUMNS",
    "BatchSummary",
    "FOODBORNE_COLUMNS",
    "cards_expr",
    "foodborne_claims",
    "foodborne_expr",
    "claims_table",
    "load_catalogue",
    "notifiable_claims",
    "write_reports",
]

DEFAULT_DISEASES = Path(__file__).resolve().parent / "diseases.toml"
DEFAULT_FOODBORNE = Path(__file__).resolve().parent / "foodborne.toml"


def load_foodborne(path: Path = DEFAULT_FOODBORNE) -> FoodborneList:
    """The food-borne case list (the shipped one by default); :class:`InvalidInput` when it is unusable."""
    try:
        return foodborne_from_toml(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise InvalidInput([Problem(str(path), 0, "public_health.foodborne",
                                    f"cannot read the food-borne list: {exc.strerror} / 无法读取食源性疾病目录")]) \
            from None
    except CatalogueError as exc:
        raise InvalidInput([Problem(str(path), 0, "public_health.foodborne", str(exc))]) from None
REPORT_COLUMNS = ("card_id", "person_id", "inst_id", "disease_code", "disease_class", "diagnosed_at", "deadline",
                  "status")
"""The columns of ``infectious_reports.csv`` (the data contract)."""
FOODBORNE_COLUMNS = ("card_id", "person_id", "inst_id", "case_code", "diagnosed_at", "deadline", "status")
"""The columns of ``foodborne_reports.csv``."""
_CLAIM_COLUMNS = ("claim_id", "person_id", "inst_id", "admit_date", "diagnosis")


def load_catalogue(policy: PublicHealthPolicy, base: Path | None = None) -> Catalogue:
    """The disease list the policy names (relative to ``base``), else the shipped one; :class:`InvalidInput` naming
    the file, the entry and the field when it is unusable."""
    path = DEFAULT_DISEASES
    if policy.diseases:
        path = Path(policy.diseases)
        if not path.is_absolute() and base is not None:
            path = base / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(str(path), 0, "public_health.diseases",
                                    f"cannot read the disease list: {exc.strerror} / 无法读取传染病目录")]) from None
    try:
        return catalogue_from_toml(text, source=str(path))
    except CatalogueError as exc:
        raise InvalidInput([Problem(str(path), 0, "public_health.diseases", str(exc))]) from None


def claims_table(con: ibis.BaseBackend, folder: Path) -> ir.Table:
    """The claims' columns the reports need. Parquet claims are read by the engine (streamed); CSV or Excel claims
    are read and validated as every command does (:class:`InvalidInput` names file, row and column)."""
    path = find_table_file(folder, "claims")
    if path is None:
        raise InvalidInput([Problem("claims.csv", 0, "", "required table is missing / 缺少必需的表")])
    if path.is_dir() or path.suffix == ".parquet":
        source = str(path / "*.parquet") if path.is_dir() else str(path)
        t = con.read_parquet(source)
        missing = [c for c in _CLAIM_COLUMNS if c not in t.columns]
        if missing:
            raise InvalidInput([Problem(path.name, 0, c, "required column is missing / 缺少必需的列") for c in missing])
        t = t.select(*_CLAIM_COLUMNS)
        return t.mutate(admit_date=t.admit_date.cast("date"), diagnosis=t.diagnosis.cast("string"),
                        person_id=t.person_id.cast("string"), inst_id=t.inst_id.cast("string"),
                        claim_id=t.claim_id.cast("string"))
    claims = read_folder(folder, tables=["claims"])["claims"].select(list(_CLAIM_COLUMNS))
    return register_arrow(con, claims)


def _normalized(dx: ir.StringValue) -> ir.StringValue:
    return dx.upper().replace(".", "").replace(" ", "").strip()


def _matching(claims: ir.Table, catalogue: Catalogue, year: int) -> ir.Table:
    return _matching_prefixes(claims, [(p, d.code) for p, d in catalogue.prefixes()], year, "disease_code")


def _matching_prefixes(claims: ir.Table, prefixes: list[tuple[str, str]], year: int, column: str) -> ir.Table:
    """The year's claims whose diagnosis starts with one of ``prefixes`` (longest first), its code in ``column``."""
    dx = _normalized(claims.diagnosis.fill_null(""))
    code = ibis.cases(*[(dx.startswith(p), c) for p, c in prefixes], else_=ibis.null("string"))
    t = claims.filter(claims.admit_date.notnull(), claims.admit_date.year() == year).mutate(**{column: code})
    return t.filter(t[column].notnull())


def _foodborne_matching(claims: ir.Table, cases: FoodborneList, year: int) -> ir.Table:
    prefixes = sorted(((p, c.code) for c in cases.cases for p in c.icd10), key=lambda pc: -len(pc[0]))
    return _matching_prefixes(claims, prefixes, year, "case_code")


def foodborne_claims(folder: Path, year: int, cases: FoodborneList) -> list[dict[str, object]]:
    """The year's claims whose diagnosis is on the food-borne list (as :func:`notifiable_claims`)."""
    return _claim_rows(folder, lambda t: _foodborne_matching(t, cases, year))


def _episodes(t: ir.Table, code: str, episode_days: int) -> ir.Table:
    """The claims that open an episode: the first of a person and ``code``, or more than ``episode_days`` days after
    the previous one."""
    w = ibis.window(group_by=[t.person_id, t[code]], order_by=[t.admit_date, t.inst_id, t.claim_id])
    prev = t.admit_date.lag().over(w)
    t = t.mutate(opens=prev.isnull() | (t.admit_date.delta(prev, unit="day") > episode_days))
    return t.filter(t.opens)


_FMT = "%Y-%m-%dT%H:%M:%S"


def foodborne_expr(claims: ir.Table, cases: FoodborneList, year: int, policy: PublicHealthPolicy) -> ir.Table:
    """The food-borne case reports of ``year``'s claims (食源性疾病病例报告), one row per report in
    :data:`FOODBORNE_COLUMNS`, ordered by card_id: a claim of a person and case within the episode window of the
    previous one joins its report (as the infectious cards); due ``report_hours`` after the admit date's midnight."""
    cards = _episodes(_foodborne_matching(claims, cases, year), "case_code", policy.episode_days)
    at = cards.admit_date.cast("timestamp")
    n = ibis.row_number().over(order_by=[cards.admit_date, cards.person_id, cards.case_code]) + 1
    out = cards.mutate(card_id=ibis.literal(f"FBR{year}-") + n.cast("string").lpad(6, "0"),
                       diagnosed_at=at.strftime(_FMT),
                       deadline=(at + ibis.literal(cases.report_hours).as_interval("h")).strftime(_FMT),
                       status=ibis.literal("pending"))
    return out.select(*FOODBORNE_COLUMNS).order_by("card_id")


def _claim_rows(folder: Path, matching: Callable[[ir.Table], ir.Table]) -> list[dict[str, object]]:
    con = connect("duckdb")
    try:
        t = matching(claims_table(con, folder))
        return list(t.select(*_CLAIM_COLUMNS).order_by("admit_date", "claim_id").to_pyarrow().to_pylist())
    finally:
        con.disconnect()


def notifiable_claims(folder: Path, year: int, catalogue: Catalogue) -> list[dict[str, object]]:
    """The year's claims whose diagnosis is on the disease list (``claim_id, person_id, inst_id, admit_date,
    diagnosis``), filtered in the engine: only those few become Python rows (to import into the database)."""
    return _claim_rows(folder, lambda t: _matching(t, catalogue, year))


def cards_expr(claims: ir.Table, catalogue: Catalogue, year: int, policy: PublicHealthPolicy) -> ir.Table:
    """The report cards of ``year``'s claims, one row per card in the contract's columns, ordered by card_id
    (diagnosis time, person, disease)."""
    cards = _episodes(_matching(claims, catalogue, year), "disease_code", policy.episode_days)
    code = cards.disease_code
    cls = ibis.cases(*[(code == d.code, d.cls.value) for d in catalogue.diseases], else_=ibis.null("string"))
    urgent: list[ir.BooleanValue] = []
    for d in catalogue.diseases:  # Class A, and Class B managed as A (until its last day, when it has one)
        if d.cls.value == "A" or (d.managed_as_a and d.managed_as_a_until is None):
            urgent.append(code == d.code)
        elif d.managed_as_a and d.managed_as_a_until is not None:
            urgent.append((code == d.code) & (cards.admit_date <= d.managed_as_a_until))
    hours = ibis.cases(*[(u, policy.class_a_hours) for u in urgent], else_=policy.other_hours) if urgent \
        else ibis.literal(policy.other_hours)
    at = cards.admit_date.cast("timestamp")
    fmt = _FMT
    n = ibis.row_number().over(order_by=[cards.admit_date, cards.person_id, cards.disease_code]) + 1
    out = cards.mutate(card_id=ibis.literal(f"IDR{year}-") + n.cast("string").lpad(6, "0"),
                       disease_class=cls, diagnosed_at=at.strftime(fmt),
                       deadline=(at + hours.cast("int64").as_interval("h")).strftime(fmt),
                       status=ibis.literal("pending"))
    return out.select(*REPORT_COLUMNS).order_by("card_id")


@dataclass(frozen=True)
class BatchSummary:
    """What the batch found: cards per class (A, B, C) and the file written; the food-borne reports and their file."""

    year: int
    cards: int
    by_class: dict[str, int] = field(default_factory=dict)
    path: Path | None = None
    foodborne: int = 0
    foodborne_path: Path | None = None


def _write_csv(con: ibis.BaseBackend, expr: ir.Table, target: Path) -> ir.Table:
    """``expr`` to ``target`` atomically (through a hidden temporary file); the written file, read back."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        con.to_csv(neutralise_ibis(expr), tmp)
    except Exception as exc:  # noqa: BLE001 - Parquet claims the engine cannot type: an input error, not a crash
        tmp.unlink(missing_ok=True)
        raise InvalidInput([Problem("claims", 0, "", f"the engine cannot read the claims: {str(exc)[:200]}; "
                                                     "run yigongti check / 结算数据无法读取，请先运行 check")]) \
            from None
    return con.read_csv(tmp, all_varchar=True)


def write_reports(folder: Path, year: int, policy: PublicHealthPolicy, out: Path,
                  foodborne: FoodborneList | None = None) -> BatchSummary:
    """``out/infectious_reports.csv`` and ``out/foodborne_reports.csv`` from the year's claims of ``folder`` (engine
    to file, each written atomically); ``foodborne``: the food-borne list (None: the shipped one)."""
    catalogue = load_catalogue(policy, folder)
    cases = foodborne if foodborne is not None else load_foodborne()
    con = connect("duckdb")
    try:
        claims = claims_table(con, folder)
        out.mkdir(parents=True, exist_ok=True)
        target, food_target = out / "infectious_reports.csv", out / "foodborne_reports.csv"
        tmp, food_tmp = (t.with_name(f".{t.name}.tmp") for t in (target, food_target))
        try:
            written = _write_csv(con, cards_expr(claims, catalogue, year, policy), target)
            counts = written.group_by("disease_class").aggregate(n=written.count()).to_pyarrow().to_pylist()
            food = int(_write_csv(con, foodborne_expr(claims, cases, year, policy), food_target).count().execute())
        except BaseException:
            tmp.unlink(missing_ok=True)  # neither file is written when either fails
            raise
        tmp.replace(target)
        food_tmp.replace(food_target)
    finally:
        con.disconnect()
    by_class = {c: 0 for c in ("A", "B", "C")} | {str(r["disease_class"]): int(r["n"]) for r in counts}
    return BatchSummary(year, sum(by_class.values()), by_class, target, food, food_target)
