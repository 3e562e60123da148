"""Codes shared by every capability (共用代码): tiers, network statuses, settings, rules. Each is a ``StrEnum`` whose
values are the strings the data contract, the database and the output files carry; the capability that owns a code
re-exports it (``registry.domain.Tier``, ``benefits.domain.Rule`` ...), and the labels a person reads come from one
place beside them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NetworkStatus", "Rule", "Setting", "Tier"]


class Tier(StrEnum):
    """The tier of an institution (机构层级): county 县级, township 乡镇, village 村级, or outside every consortium."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    OUTSIDE = "outside"


class NetworkStatus(StrEnum):
    """Where a claim was incurred relative to the person's designation (就医类别)."""

    DESIGNATED = "designated"
    IN_CONSORTIUM = "in_consortium"
    OTHER_CONSORTIUM = "other_consortium"
    OUTSIDE = "outside"


class Setting(StrEnum):
    """Where care was given (就诊类型): outpatient (门诊) or inpatient (住院), the ``setting`` column."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"


class Rule(StrEnum):
    """The rule that decided a claim (stable names, the ``rule`` column)."""

    FLAT_COPAY = "flat_copay"
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    CONTINUOUS_DEDUCTIBLE = "continuous_deductible"
    NO_BENEFIT = "no_benefit"
    EMERGENCY_AS_OUTSIDE = "emergency_as_outside"
    UNREASONABLE = "unreasonable"
    ANNUAL_CAP = "annual_cap"
    TWO_DISEASE = "two_disease"  # 两病门诊用药保障 (rules.md B9)
