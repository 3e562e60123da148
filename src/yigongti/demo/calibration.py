"""Calibration of the demo county (示例县参数): the figures the generator draws from.

These are not business rules (those live in the Policy) but descriptive statistics of a rural western county, set to
land near rules.md §8 (Pingwu) and §9 (national bulletins): 60+ about 25%, households of about 2.8, 80% resident /
20% employee insurance, about 6.8 visits and 0.21 admissions per person-year rising with age, about 60% of visits at
primary level, about 85% of admissions in the county, and outside hospitals taking about 38% of covered cost
(about 28% of fund payments under the default benefits: roughly the third of docs/en/rules.md §9).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AGE_GROUPS", "DEFAULT_CALIBRATION", "TIERS_OUT", "Calibration", "DiagnosisTable"]

# Age groups used for care patterns and diagnoses: 0 child (0-14), 1 adult (15-59), 2 elderly (60+).
AGE_GROUPS = ("child", "adult", "elderly")
# Claim tiers drawn by the generator, in this order.
TIERS_OUT = ("village", "township", "county", "outside")

DiagnosisTable = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Calibration:
    """Every number the demo generator draws from; keyword-only to override in tests or benchmarks."""

    # --- population -----------------------------------------------------------------------------------------
    # 5-year age bands from 0 to 94 (19 bands), share of the population in % (rural western county, 60+ ~ 25%).
    age_shares: tuple[float, ...] = (4.4, 5.4, 5.8, 5.4, 4.8, 5.2, 6.6, 6.4, 6.0, 7.8, 8.8, 7.9,
                                     6.3, 6.5, 5.3, 3.5, 2.1, 1.0, 0.3)
    # household sizes 1..7
    household_sizes: tuple[float, ...] = (0.17, 0.32, 0.22, 0.16, 0.08, 0.03, 0.02)
    male_share: float = 0.51
    employee_share: float = 0.20  # of everyone; drawn among ages 18-74 only
    urban_share: float = 0.18  # persons living under urban community stations (31,500 of 174,000 in Pingwu)
    home_spread_deg: float = 0.012  # sd of homes around the village clinic (rural), degrees
    urban_spread_deg: float = 0.004

    # --- choices and carry-over (rules.md A) --------------------------------------------------------------------
    choosing_households: float = 0.70
    choose_alternative: float = 0.15  # of choices: a village of the other consortium (or not the nearest)
    only_head_chooses: float = 0.10  # of choosing households: only one member files, the others follow (household)
    changed_mind: float = 0.05  # of choosing households: an earlier choice in the window, superseded
    carried_households: float = 0.60  # households with a designation for the year before
    outside_window: float = 0.02  # of non-choosing households: one choice outside the switch window (refused)
    broken_nesting: float = 0.01  # of non-choosing households: a village not under the chosen township (refused)

    # --- volumes (per person-year, before the gamma frailty) ------------------------------------------------------
    visits_per_year: float = 6.8
    admissions_per_year: float = 0.20
    # relative outpatient and inpatient use by 5-year band (rescaled to the means above with age_shares)
    visit_by_age: tuple[float, ...] = (9.0, 4.0, 3.2, 3.0, 3.0, 3.6, 4.0, 4.2, 4.6, 5.6, 6.4, 7.4,
                                       9.0, 10.0, 11.5, 12.5, 13.0, 13.0, 13.0)
    admission_by_age: tuple[float, ...] = (0.14, 0.06, 0.05, 0.08, 0.13, 0.15, 0.12, 0.10, 0.11, 0.14, 0.17, 0.21,
                                           0.28, 0.34, 0.42, 0.48, 0.55, 0.58, 0.58)
    frailty_shape: float = 2.0  # gamma frailty, mean 1: overdispersion of visits per person
    lead_in_days: int = 21  # claims also in the last weeks of the year before
    # the rest of the year before (claims.make_previous_claims) is drawn at prices this much lower: medical costs
    # grow by about this much a year, so the dashboards show a plausible trend against last year
    cost_growth: float = 0.06

    # --- where care happens ---------------------------------------------------------------------------------------
    # probabilities of tier (village, township, county, outside) per age group
    outpatient_tiers: tuple[tuple[float, ...], ...] = ((0.25, 0.30, 0.33, 0.12),
                                                       (0.29, 0.30, 0.28, 0.13),
                                                       (0.40, 0.28, 0.23, 0.09))
    inpatient_tiers: tuple[tuple[float, ...], ...] = ((0.0, 0.20, 0.69, 0.11),
                                                      (0.0, 0.25, 0.63, 0.12),
                                                      (0.0, 0.30, 0.60, 0.10))
    at_designated: float = 0.88  # primary-level care at the designated village / township
    in_consortium: float = 0.08  # another member of the designated consortium (the rest: the other consortium)
    county_own_consortium: float = 0.85  # county-tier care in the designated consortium
    # weights of county-tier units by kind (outpatient, inpatient); the lead hospital gets the "lead" weight
    county_weights: tuple[tuple[str, float, float], ...] = (
        ("lead", 6.0, 6.0), ("general", 3.0, 3.0), ("tcm", 3.0, 2.5), ("mch", 2.0, 1.5),
        ("infectious", 0.5, 0.4), ("cdc", 0.3, 0.0))
    # outside hospitals by level (outpatient, inpatient)
    outside_weights: tuple[tuple[int, float, float], ...] = ((3, 0.6, 0.8), (2, 0.4, 0.2))
    emergency_outpatient: float = 0.03  # of county-tier and outside visits
    emergency_inpatient: float = 0.12
    referral_rate: float = 0.06  # admissions at township / county followed by a referred admission upward
    unreasonable_rate: float = 0.003
    unreasonable_outside_inpatient: float = 0.02

    # --- cost (yuan): lognormal median and sigma by (setting, tier); outside by level ---------------------------
    outpatient_cost: tuple[tuple[str, float, float], ...] = (
        ("village", 50.0, 0.55), ("township", 80.0, 0.60), ("county", 150.0, 0.70),
        ("outside2", 300.0, 0.75), ("outside3", 420.0, 0.80))
    inpatient_cost: tuple[tuple[str, float, float], ...] = (
        ("township", 2400.0, 0.45), ("county", 4800.0, 0.55), ("outside2", 9000.0, 0.60),
        ("outside3", 16000.0, 0.65))
    length_of_stay: tuple[tuple[str, float], ...] = (
        ("township", 6.4), ("county", 8.5), ("outside2", 9.5), ("outside3", 7.8))
    covered_share: tuple[float, float] = (0.75, 0.95)

    # --- diagnoses (ICD-10) by setting and age group ---------------------------------------------------------------
    outpatient_diagnoses: tuple[DiagnosisTable, ...] = (
        (("J06.9", 40), ("J20.9", 12), ("A09.9", 10), ("J02.9", 8), ("R50.9", 8), ("L30.9", 6), ("H10.9", 4),
         ("K59.0", 4), ("J45.9", 3), ("S09.9", 3), ("K29.7", 2)),
        (("J06.9", 18), ("I10", 14), ("K29.7", 12), ("M54.5", 10), ("E11.9", 6), ("J20.9", 6), ("N39.0", 4),
         ("L30.9", 4), ("K02.9", 4), ("R51", 4), ("M79.1", 3), ("H10.9", 2), ("S93.4", 2)),
        (("I10", 30), ("E11.9", 14), ("I25.1", 8), ("J06.9", 8), ("J44.9", 7), ("M17.9", 7), ("K29.7", 6),
         ("M54.5", 6), ("I69.3", 4), ("N40", 2), ("H25.9", 2), ("R42", 2)),
    )
    inpatient_diagnoses: tuple[DiagnosisTable, ...] = (
        (("J18.9", 35), ("J20.9", 15), ("A09.9", 12), ("K35.8", 6), ("S52.5", 6), ("J45.9", 5), ("P59.9", 5),
         ("R56.0", 3)),
        (("O80", 14), ("J18.9", 8), ("K35.8", 8), ("K80.2", 7), ("M51.2", 5), ("N20.0", 5), ("S82.2", 5),
         ("I10", 4), ("E11.9", 4), ("K29.7", 4), ("I63.9", 4), ("C34.9", 2), ("C16.9", 2), ("K56.7", 2),
         ("I21.9", 2), ("S72.0", 1)),
        (("I63.9", 16), ("J44.1", 14), ("J18.9", 14), ("I50.9", 8), ("I25.1", 8), ("I10", 6), ("S72.0", 5),
         ("E11.9", 5), ("H25.9", 5), ("K80.2", 4), ("C34.9", 4), ("C16.9", 3), ("M17.9", 3), ("I21.9", 3),
         ("N40", 2)),
    )


DEFAULT_CALIBRATION = Calibration()
