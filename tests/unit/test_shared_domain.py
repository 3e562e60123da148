"""Who may open a shared health record (shared.domain), as invariants over every combination of facts: only a
clinician with a care relationship or a resident of the household, the basis one of the facts that hold, a named
referral used only when it is one of the live ones; a referral counts while open and for ``days`` after it ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from yigongti.referral.domain import TERMINAL, Status
from yigongti.shared.domain import Basis, CareFacts, care_basis, referral_counts

ROLES = ("resident", "clinician", "institution_admin", "consortium_admin", "insurance_bureau", "health_commission",
         "system_admin")
facts = st.builds(CareFacts, same_household=st.booleans(), designated=st.booleans(),
                  contract_id=st.none() | st.integers(1, 10**6),
                  referral_ids=st.lists(st.integers(1, 10**6), max_size=4, unique=True).map(tuple))


@given(st.sampled_from(ROLES), facts, st.none() | st.integers(1, 10**6))
def test_the_basis_is_a_fact_that_holds_for_a_role_that_may_have_one(role: str, f: CareFacts,
                                                                       named: int | None) -> None:
    found = care_basis(role, f, referral_id=named)
    if role not in ("resident", "clinician"):
        assert found is None
        return
    if role == "resident":
        assert found == ((Basis.HOUSEHOLD, None) if f.same_household else None)
        return
    related = f.designated or f.contract_id is not None or bool(f.referral_ids)
    assert (found is not None) == related
    if found is None:
        return
    basis, ref = found
    assert basis is not Basis.HOUSEHOLD
    if basis is Basis.REFERRAL:
        assert ref in f.referral_ids
        if named is not None and named not in f.referral_ids:
            assert not f.designated and f.contract_id is None
    if basis is Basis.CONTRACT:
        assert ref == f.contract_id and not f.designated
    if named is not None and named in f.referral_ids:
        assert found == (Basis.REFERRAL, named)


def test_a_household_is_no_basis_for_a_clinician() -> None:
    assert care_basis("clinician", CareFacts(same_household=True)) is None


@given(st.sampled_from(list(Status)), st.integers(0, 400), st.integers(0, 365))
def test_a_referral_counts_while_open_and_for_days_after_it_ends(status: Status, age: int, days: int) -> None:
    now = datetime(2026, 11, 15, 12)
    counts = referral_counts(status.value, now - timedelta(days=age, seconds=1), now, days)
    assert counts == (status not in TERMINAL or age < days)


def test_an_unknown_status_never_counts() -> None:
    assert not referral_counts("bogus", datetime(2026, 1, 1), datetime(2026, 1, 1), 90)
