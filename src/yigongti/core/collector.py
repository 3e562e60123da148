"""Python's cyclic garbage collector around the platform's bursts of small objects (垃圾回收).

A province's settlement, appraisal and reports make hundreds of thousands of small Python objects in a few seconds
(indicator values, statement rows, workbook cells), none of them in a reference cycle that outlives its step. Each
allocation burst runs the collector's passes, and its oldest generation's passes walk every object of the process:
the imported libraries' and the step's inputs', again and again. These blocks leave those out."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "heap_frozen"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, back on after as it was: for a block that makes many small objects none of
    which is in a cycle (nothing is left for the collector to free after it)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def heap_frozen() -> Iterator[None]:
    """The objects alive when the block starts left out of the collector's passes during it (``gc.freeze``), put
    back after (``gc.unfreeze``); the block's own objects are collected as usual, so that a block whose objects do
    form cycles (a workbook's) frees them as it goes. In a process that froze its heap already (the web app's
    workers, at start) the block does nothing: unfreezing would put back what that process froze."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
