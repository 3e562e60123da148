"""One tree of refusals (拒绝) with one root, and one mapping of it to HTTP for every capability's API."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from yigongti.care.domain import PanelFull, PrescriptionRefused
from yigongti.core.problems import InvalidInput, Refused, YigongtiError
from yigongti.pharmacy.domain import InsufficientStock
from yigongti.pharmacy.domain import TransitionNotAllowed as ShortageMove
from yigongti.platform.deps import run_use_case
from yigongti.referral.domain import PartyNotAllowed, TransitionNotAllowed
from yigongti.referral.service import NoPlaceLeft


def _status(exc: Exception) -> tuple[int, object]:
    def fail() -> None:
        raise exc

    with pytest.raises(HTTPException) as caught:
        run_use_case(fail)
    return caught.value.status_code, caught.value.detail


@pytest.mark.parametrize(("exc", "status"), [
    (TransitionNotAllowed("requested", "arrived"), 409),
    (PartyNotAllowed("requested", "accepted", "sender"), 403),
    (NoPlaceLeft("full"), 409),
    (PanelFull("full"), 409),
    (InsufficientStock(3, 5), 409),
    (ShortageMove("delivered", "dispatched"), 409),
    (PrescriptionRefused("长处方最长 60 天 / at most 60 days"), 422),
])
def test_each_capability_refusal_answers_its_status(exc: Exception, status: int) -> None:
    assert isinstance(exc, Refused)
    code, detail = _status(exc)
    assert code == status
    if status == 422:  # names the field, with the reason as the person reads it
        assert detail == [{"loc": ["body", "days"], "msg": "长处方最长 60 天 / at most 60 days", "type": "value_error"}]


def test_one_root_and_other_errors_pass_through() -> None:
    assert issubclass(Refused, YigongtiError) and issubclass(InvalidInput, YigongtiError)

    def boom() -> None:
        raise KeyError("a bug is not a refusal")

    with pytest.raises(KeyError):
        run_use_case(boom)
