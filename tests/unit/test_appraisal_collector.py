"""The indicator and score passes run with Python's cyclic collector paused, and leave it as they found it: on
after the pass (and after a pass that raised), still off when a caller had turned it off. A settlement's writing
runs with the heap it found frozen (left out of the collector's passes) and unfreezes it after, unless the process
had frozen its heap itself."""

from __future__ import annotations

import gc

import pytest

from yigongti.core.collector import collector_paused, heap_frozen


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_and_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError), collector_paused():
            raise ValueError("a pass that fails")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_heap_is_frozen_for_the_block_and_put_back_after() -> None:
    if gc.get_freeze_count():
        pytest.skip("this process froze its heap")
    alive = [object() for _ in range(10)]
    with heap_frozen():
        assert gc.get_freeze_count() > len(alive)
        assert gc.isenabled()  # the block's own objects are collected as usual
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError), heap_frozen():
        raise ValueError("a write that fails")
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_the_process_stays_frozen() -> None:
    if gc.get_freeze_count():
        pytest.skip("this process froze its heap")
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with heap_frozen():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
