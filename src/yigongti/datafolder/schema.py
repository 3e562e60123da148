"""The data contract (数据接口, docs/en/data-contract.md) as data: tables, columns, types.

A pure description; reading and validating files lives in ``yigongti.datafolder.folder``.
In memory (Arrow) a ``money`` column is int64 fen, a ``date`` column date32, a ``datetime`` column a timestamp in
China time without zone, a ``bool`` column bool, ``int`` int64, ``float`` float64, everything else string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from yigongti.core.codes import NetworkStatus, Setting, Tier
from yigongti.core.policy import Insurance

__all__ = ["APPRAISAL_TABLES", "INPUT_TABLES", "OUTPUT_TABLES", "PROFESSIONS", "REFERRAL_STATUSES", "TABLES", "TITLES",
           "WORKFORCE_TABLES", "ColType", "Column", "TableSpec"]


class ColType(StrEnum):
    STR = "str"
    ID = "id"  # a non-empty identifier without surrounding space
    ENUM = "enum"
    INT = "int"
    FLOAT = "float"
    MONEY = "money"  # yuan in files, int fen in memory
    DATE = "date"
    DATETIME = "datetime"
    BOOL = "bool"
    COUNTY_CODE = "county_code"  # GB/T 2260, 6 digits
    ID_NUMBER = "id_number"  # 18-character resident ID
    DECIMAL = "decimal"  # exact decimal kept as text with 2 places on output (standard heads, scores)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType
    required: bool = True
    values: tuple[str, ...] = ()
    default: str | None = None  # used when the column is absent or the cell is empty
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    optional: bool = False
    doc: str = ""
    extra_ok: bool = True  # more columns may be added, none renamed
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


T = ColType
TIERS = tuple(t.value for t in Tier)
KINDS = ("general", "tcm", "mch", "cdc", "infectious", "township_centre", "community_centre", "village_clinic",
         "community_station", "private")

INSTITUTIONS = TableSpec("institutions", (
    Column("inst_id", T.ID), Column("name", T.STR), Column("tier", T.ENUM, values=TIERS),
    Column("level", T.INT, min_value=0, max_value=3), Column("kind", T.ENUM, values=KINDS),
    Column("consortium_id", T.ID, required=False), Column("parent_id", T.ID, required=False),
    Column("county_code", T.COUNTY_CODE), Column("lon", T.FLOAT), Column("lat", T.FLOAT),
    # optional: the national insurance platform's code (定点医药机构编号, H51072700001), see docs/en/nhsa.md
    Column("nhsa_code", T.ID, required=False),
), key=("inst_id",), doc="成员单位与医共体外医院 / institutions")

CONSORTIA = TableSpec("consortia", (
    Column("consortium_id", T.ID), Column("name", T.STR), Column("county_code", T.COUNTY_CODE),
    Column("lead_inst_id", T.ID),
), key=("consortium_id",), doc="医共体 / consortia")

PERSONS = TableSpec("persons", (
    Column("person_id", T.ID), Column("id_number", T.ID_NUMBER, required=False),
    Column("sex", T.ENUM, values=("M", "F")), Column("birth_date", T.DATE), Column("household_id", T.ID),
    Column("insurance", T.ENUM, values=tuple(i.value for i in Insurance)), Column("county_code", T.COUNTY_CODE),
    Column("lon", T.FLOAT), Column("lat", T.FLOAT),
    # optional: the household head (户主), for policy.enrollment.household_mode = head_for_all_adults
    Column("household_head", T.BOOL, required=False, default="false"),
    # optional: lives and works away from the county all year (常年外出, seed 000 二(二)2): no default designation
    # and no standard heads unless the person chose; their claims are paid by the fund and reported apart
    Column("lives_away", T.BOOL, required=False, default="false"),
    # optional: the national insurance platform's person number (人员编号), see docs/en/nhsa.md
    Column("psn_no", T.ID, required=False),
), key=("person_id",), doc="参保人 / insured persons")

CHOICES = TableSpec("choices", (
    Column("person_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200),
    Column("consortium_id", T.STR, required=False), Column("township_id", T.STR, required=False),
    Column("village_id", T.STR, required=False), Column("chosen_at", T.DATETIME),
), optional=True, doc="定点选择 / choices (append-only)")

CLAIMS = TableSpec("claims", (
    Column("claim_id", T.ID), Column("person_id", T.ID), Column("inst_id", T.ID),
    Column("setting", T.ENUM, values=tuple(s.value for s in Setting)),
    Column("emergency", T.BOOL, required=False, default="false"),
    Column("admit_date", T.DATE), Column("discharge_date", T.DATE, required=False),
    Column("total_cost", T.MONEY, min_value=0), Column("covered_cost", T.MONEY, min_value=0),
    Column("diagnosis", T.STR, required=False), Column("referral_from", T.STR, required=False),
    Column("unreasonable", T.BOOL, required=False, default="false"),
), key=("claim_id",), optional=True, doc="结算清单 / claims")

DESIGNATIONS = TableSpec("designations", (
    Column("person_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200),
    Column("consortium_id", T.ID), Column("township_id", T.ID), Column("village_id", T.ID),
    Column("source", T.ENUM, values=("choice", "carried", "household", "nearest")),
), key=("person_id", "year"), optional=True, doc="定点 / designations")

SCORES = TableSpec("scores", (
    Column("unit_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200),
    Column("score", T.DECIMAL, min_value=0, max_value=100),
), key=("unit_id", "year"), optional=True, doc="考核得分 / appraisal scores (override)")

BUDGET_AGREEMENTS = TableSpec("budget_agreements", (
    Column("consortium_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200),
    Column("amount", T.MONEY, min_value=0), Column("signed_by", T.STR), Column("signed_at", T.DATETIME),
    Column("version", T.INT, min_value=1),
), key=("consortium_id", "year"), optional=True, doc="年度总额预算协议（已签） / signed yearly budget agreements")

# The balances a consortium brings into the year (上年结转与风险基金余额, budget.reserve; docs/en/settlement.md): the
# surplus carried forward last year and the risk reserve's balance. ``settle --opening FILE`` reads the same from last
# year's surplus.csv.
OPENING = TableSpec("opening", (
    Column("consortium_id", T.ID), Column("year", T.INT, required=False, min_value=1900, max_value=2200),
    Column("carried_in", T.MONEY, min_value=0), Column("risk_reserve", T.MONEY, min_value=0),
), key=("consortium_id",), optional=True,
    doc="上年结转与风险基金余额 / the balances brought in: surplus carried forward, risk reserve")

# Optional inputs of the performance appraisal (绩效考核); see docs/en/appraisal.md.
TITLES = ("junior", "intermediate", "associate_senior", "senior")
CHECKLIST = TableSpec("checklist", (
    Column("unit_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200), Column("item", T.ID),
    Column("passed", T.BOOL), Column("note", T.STR, required=False),
), key=("unit_id", "year", "item"), optional=True, doc="紧密型评判清单 / judged checklist (appraisal)")
POSTINGS = TableSpec("postings", (
    Column("staff_id", T.ID), Column("from_inst_id", T.ID), Column("to_inst_id", T.ID),
    Column("title", T.ENUM, values=TITLES), Column("start_date", T.DATE), Column("end_date", T.DATE, required=False),
), optional=True, doc="派驻人员 / staff stationed at other institutions (appraisal)")
REMOTE_DIAGNOSES = TableSpec("remote_diagnoses", (
    Column("request_id", T.ID), Column("from_inst_id", T.ID), Column("to_inst_id", T.ID), Column("date", T.DATE),
    Column("kind", T.ENUM, values=("imaging", "ecg", "ultrasound", "pathology", "consultation", "lab")),
), key=("request_id",), optional=True, doc="远程诊断 / remote diagnoses (appraisal)")
EQUIPMENT = TableSpec("equipment", (
    Column("inst_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200), Column("item", T.ID),
    Column("quantity", T.INT, min_value=0),
), key=("inst_id", "year", "item"), optional=True, doc="设备 / equipment (appraisal)")
STAFF_INCOME = TableSpec("staff_income", (
    Column("inst_id", T.ID), Column("year", T.INT, min_value=1900, max_value=2200), Column("staff", T.INT, min_value=0),
    Column("income", T.MONEY, min_value=0),
), key=("inst_id", "year"), optional=True, doc="人员收入 / staff head count and total income (appraisal)")
FOLLOWUPS = TableSpec("followups", (
    Column("person_id", T.ID), Column("inst_id", T.ID), Column("date", T.DATE),
    Column("disease", T.ENUM, values=("hypertension", "diabetes")), Column("controlled", T.BOOL, required=False),
    Column("systolic", T.INT, required=False, min_value=40, max_value=300),
    Column("diastolic", T.INT, required=False, min_value=20, max_value=200),
    Column("fasting_glucose", T.FLOAT, required=False, min_value=0.5, max_value=50),
), optional=True, doc="慢病随访 / chronic-disease follow-ups with their readings (appraisal, care measures); "
                      "controlled empty: from the readings (policy [care])")
DEATHS = TableSpec("deaths", (
    Column("person_id", T.ID), Column("death_date", T.DATE), Column("cause", T.STR, required=False),
), key=("person_id",), optional=True, doc="死亡登记 / deaths with ICD-10 cause (appraisal)")
SURVEYS = TableSpec("surveys", (
    Column("response_id", T.ID), Column("inst_id", T.ID), Column("date", T.DATE), Column("satisfied", T.BOOL),
), key=("response_id",), optional=True, doc="满意度调查 / satisfaction survey responses (appraisal)")
CONTRACTS = TableSpec("contracts", (
    Column("person_id", T.ID), Column("inst_id", T.ID), Column("start_date", T.DATE),
    Column("end_date", T.DATE, required=False), Column("gp_id", T.ID, required=False),
), optional=True, doc="家庭医生签约 / family-doctor contracts (appraisal; with gp_id: GP pay)")
REFERRAL_STATUSES = ("requested", "accepted", "declined", "booked", "arrived", "completed", "returned", "cancelled",
                     "expired")
REFERRALS = TableSpec("referrals", (
    Column("referral_id", T.ID), Column("person_id", T.ID), Column("from_inst_id", T.ID), Column("to_inst_id", T.ID),
    Column("direction", T.ENUM, values=("up", "down")), Column("diagnosis", T.STR, required=False),
    Column("requested_at", T.DATETIME), Column("status", T.ENUM, values=REFERRAL_STATUSES),
    Column("completed_at", T.DATETIME, required=False),
), key=("referral_id",), optional=True, doc="转诊单 / referrals of the two-way referral workflow (appraisal S3-S5, "
                                             "S4b); `yigongti referral export` writes it from the database")
# Care quality (处方点评、病历质控; docs/en/workforce.md): read by the appraisal's quality measures.
PRESCRIPTION_REVIEWS = TableSpec("prescription_reviews", (
    Column("prescription_id", T.ID), Column("inst_id", T.ID), Column("staff_id", T.ID, required=False),
    Column("date", T.DATE), Column("score", T.INT, min_value=0, max_value=100),
), key=("prescription_id",), optional=True, doc="处方点评 / reviewed prescriptions with their scores (appraisal)")
RECORD_CHECKS = TableSpec("record_checks", (
    Column("record_id", T.ID), Column("inst_id", T.ID), Column("staff_id", T.ID, required=False),
    Column("date", T.DATE), Column("score", T.INT, min_value=0, max_value=100),
), key=("record_id",), optional=True, doc="病历质控 / checked medical records with their scores (appraisal)")
APPRAISAL_TABLES = (CHECKLIST, POSTINGS, REMOTE_DIAGNOSES, EQUIPMENT, STAFF_INCOME, FOLLOWUPS, DEATHS, SURVEYS,
                    CONTRACTS, REFERRALS, PRESCRIPTION_REVIEWS, RECORD_CHECKS)

# Pooled staff (人员县管乡用、乡聘村用; docs/en/workforce.md): when present, indicators 2.1 and 2.3 are computed from
# them (postings and staff_income derived), and `yigongti workforce staffing` judges the stationing rules.
PROFESSIONS = ("doctor", "nurse", "pharmacist", "technician", "manager", "other")
STAFF = TableSpec("staff", (
    Column("staff_id", T.ID), Column("name", T.STR), Column("title", T.ENUM, values=TITLES),
    Column("profession", T.ENUM, values=PROFESSIONS, required=False, default="doctor"),
    Column("department", T.STR, required=False), Column("employer_id", T.ID), Column("works_at_id", T.ID,
                                                                                     required=False),
    Column("income", T.MONEY, required=False, min_value=0),
), key=("staff_id",), optional=True, doc="人员 / the staff registry of the year (workforce)")
STATIONING = TableSpec("stationing", (
    Column("staff_id", T.ID), Column("to_inst_id", T.ID), Column("start_date", T.DATE),
    Column("end_date", T.DATE, required=False),
), optional=True, doc="派驻 / stints of staff stationed at other institutions (workforce)")
TRAINING = TableSpec("training", (
    Column("staff_id", T.ID), Column("date", T.DATE), Column("hours", T.FLOAT, min_value=0, max_value=24),
    Column("course", T.STR, required=False),
), optional=True, doc="培训 / training sessions attended (workforce)")
WORKFORCE_TABLES = (STAFF, STATIONING, TRAINING)

REFUSED_CHOICES = TableSpec("refused_choices", (
    Column("person_id", T.ID), Column("year", T.INT), Column("chosen_at", T.DATETIME), Column("reason", T.STR),
), doc="被拒绝的选择 / refused choices")

ADJUDICATED = TableSpec("adjudicated", CLAIMS.columns + (
    Column("network_status", T.ENUM, values=tuple(s.value for s in NetworkStatus)),
    Column("deductible", T.MONEY), Column("fund_paid", T.MONEY), Column("patient_paid", T.MONEY),
    Column("rule", T.STR),
), key=("claim_id",), doc="待遇结算结果 / adjudicated claims")

SETTLEMENT = TableSpec("settlement", (
    Column("consortium_id", T.ID), Column("enrollees", T.INT), Column("standard_heads", T.DECIMAL),
    Column("rate", T.MONEY), Column("gross_budget", T.MONEY), Column("p4p_reserve", T.MONEY),
    Column("prospective_budget", T.MONEY), Column("in_network_spend", T.MONEY),
    Column("out_of_network_deductions", T.MONEY), Column("balance", T.MONEY), Column("retained_surplus", T.MONEY),
    Column("fund_overspend_share", T.MONEY), Column("consortium_overspend", T.MONEY),
    Column("score", T.DECIMAL, required=False), Column("grade", T.STR), Column("p4p_paid", T.MONEY),
    Column("public_health_allocated", T.MONEY, required=False),
    Column("budget_source", T.STR, required=False),
), key=("consortium_id",), doc="年终清算 / year-end settlement")

ALLOCATION = TableSpec("allocation", (
    Column("consortium_id", T.ID), Column("inst_id", T.ID), Column("tier", T.STR), Column("amount", T.MONEY),
    Column("public_health", T.MONEY, required=False), Column("score", T.DECIMAL, required=False),
    Column("performance_pay_ceiling", T.MONEY, required=False),
), doc="内部分配 / internal allocation")

LEDGER = TableSpec("ledger", (
    Column("entry_id", T.INT), Column("consortium_id", T.STR, required=False), Column("inst_id", T.STR, required=False),
    Column("kind", T.STR), Column("amount", T.MONEY), Column("month", T.STR, required=False),
    Column("inputs_hash", T.STR),
), doc="资金台账 / ledger")

SURPLUS = TableSpec("surplus", (
    Column("entry_id", T.INT), Column("consortium_id", T.ID), Column("account", T.STR), Column("kind", T.STR),
    Column("amount", T.MONEY), Column("period", T.STR), Column("form", T.STR, required=False),
), doc="结余留用与风险基金台账 / the surplus over the years and the risk reserve")

PACKAGE = TableSpec("package", (
    Column("consortium_id", T.ID), Column("inst_id", T.ID), Column("tier", T.STR), Column("kind", T.STR),
    Column("heads", T.INT), Column("duty_weight", T.DECIMAL), Column("last_year_costs", T.MONEY),
    Column("duty", T.MONEY), Column("history", T.MONEY), Column("by_heads", T.MONEY), Column("allocation", T.MONEY),
    Column("public_health", T.MONEY),
), key=("consortium_id", "inst_id"), doc="医共体内部包干 / the internal package of the year")

MEMBER_STATEMENTS = TableSpec("member_statements", (
    Column("consortium_id", T.ID), Column("inst_id", T.ID), Column("month", T.INT, min_value=1, max_value=12),
    Column("allocated", T.MONEY), Column("charged", T.MONEY), Column("allocated_to_date", T.MONEY),
    Column("charged_to_date", T.MONEY), Column("balance", T.MONEY),
), key=("consortium_id", "inst_id", "month"), doc="成员单位月度对账单 / the members' monthly statements")

INTERIM = TableSpec("interim", (
    Column("consortium_id", T.ID), Column("quarter", T.INT, min_value=1, max_value=4),
    Column("prepaid_to_date", T.MONEY), Column("spent_to_date", T.MONEY), Column("balance_to_date", T.MONEY),
    Column("distributed", T.MONEY), Column("cash", T.MONEY), Column("project", T.MONEY),
    Column("equipment", T.MONEY), Column("distributed_to_date", T.MONEY),
), key=("consortium_id", "quarter"), doc="季度预结算 / quarterly interim settlement")

INDICATORS = TableSpec("indicators", (
    Column("scope", T.STR), Column("indicator", T.STR), Column("numerator", T.DECIMAL, required=False),
    Column("denominator", T.DECIMAL, required=False), Column("value", T.DECIMAL, required=False),
), doc="监测指标 / indicators")

INPUT_TABLES: dict[str, TableSpec] = {t.name: t for t in (
    INSTITUTIONS, CONSORTIA, PERSONS, CHOICES, CLAIMS, DESIGNATIONS, SCORES, BUDGET_AGREEMENTS, OPENING,
    *APPRAISAL_TABLES,
    *WORKFORCE_TABLES)}
OUTPUT_TABLES: dict[str, TableSpec] = {t.name: t for t in (
    DESIGNATIONS, REFUSED_CHOICES, ADJUDICATED, SETTLEMENT, ALLOCATION, LEDGER, SURPLUS, PACKAGE, MEMBER_STATEMENTS,
    INTERIM, INDICATORS)}
TABLES: dict[str, TableSpec] = {**INPUT_TABLES, **OUTPUT_TABLES}
