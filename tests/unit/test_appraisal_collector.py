"""The indicator and score passes run with Python's cyclic collector paused, and leave it as they found it: on
after the pass (and after a pass that raised), still off when a caller had turned it off."""

from __future__ import annotations

import gc

import pytest

from yigongti.appraisal.service import _collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_and_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with _collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError), _collector_paused():
            raise ValueError("a pass that fails")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
