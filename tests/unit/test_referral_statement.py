"""The internal statement between members (成员单位内部结算), with hypothesis: whatever the services, each consortium's
month sums to zero, every priced service moves exactly its price once, and services that are not between two members
of one consortium are left out and counted."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.policy import INTERNAL_SERVICES, InternalPrice, ReferralPolicy
from yigongti.referral.domain import InternalService, internal_statement

INSTS = [f"I{i}" for i in range(8)]
MONTHS = ["2026-01", "2026-02", "2026-03"]

consortia = st.fixed_dictionaries({i: st.sampled_from(["A", "B", None]) for i in INSTS})
prices = st.dictionaries(st.sampled_from(INTERNAL_SERVICES[:5]), st.builds(
    lambda fen, payer: InternalPrice.model_validate({"price": f"{fen / 100:.2f}", "payer": payer}),
    st.integers(0, 10**7), st.sampled_from(["sender", "receiver"])))
services = st.lists(st.builds(InternalService, st.sampled_from(INTERNAL_SERVICES), st.sampled_from(MONTHS),
                              st.sampled_from(INSTS), st.sampled_from(INSTS)), max_size=60)


@given(consortia, prices, services)
def test_each_consortium_month_sums_to_zero_and_moves_every_price_once(cons: dict[str, str | None],
                                                                     price: dict[str, InternalPrice],
                                                                     svcs: list[InternalService]) -> None:
    lines, skipped = internal_statement(svcs, cons, price)
    net: dict[tuple[str, str], int] = defaultdict(int)
    for ln in lines:
        net[(ln.consortium_id, ln.month)] += ln.net
        assert ln.received >= 0 and ln.paid >= 0 and cons[ln.inst_id] == ln.consortium_id
    assert all(v == 0 for v in net.values())
    inside = [s for s in svcs if cons[s.sender] is not None and cons[s.sender] == cons[s.receiver]
              and s.sender != s.receiver and s.item in price]
    assert skipped == len(svcs) - len(inside)
    assert sum(ln.received for ln in lines) == sum(price[s.item].price for s in inside)
    assert sum(ln.services for ln in lines) == 2 * len(inside)  # one line each side


def test_the_payer_is_the_side_the_policy_names() -> None:
    pol = ReferralPolicy()
    up = InternalService("up_referral", "2026-04", "T1", "H")  # the hospital pays the township for a referral
    read = InternalService("imaging", "2026-04", "T1", "H")  # the township pays the hospital for a read
    lines, skipped = internal_statement([up, read, InternalService("ecg", "2026-04", "T1", "X")],
                                        {"T1": "A", "H": "A", "X": None}, pol.prices)
    got = {(ln.inst_id, ln.item): ln.net for ln in lines}
    assert got == {("T1", "up_referral"): 2000, ("H", "up_referral"): -2000, ("T1", "imaging"): -4000,
                   ("H", "imaging"): 4000}
    assert skipped == 1  # X is outside every consortium
