"""Every shipped configuration file (配置文件) with one value replaced by a hostile one: its loader either accepts it
or raises its own named error (file and key), never a Python error of another kind (a traceback for the user)."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import yigongti
from yigongti.appraisal.indicators import IndicatorSetError, indicator_set_from_toml
from yigongti.core.policy import PolicyError, policy_from_toml
from yigongti.core.problems import InvalidInput
from yigongti.public_health.domain import CatalogueError, catalogue_from_toml, foodborne_from_toml
from yigongti.referral.domain import CatalogueError as ReferralCatalogueError
from yigongti.referral.domain import catalogues_from_toml
from yigongti.simulator.domain import load_scenarios
from yigongti.workforce.domain import ChecklistError, checklist_from_toml

SRC = Path(yigongti.__file__).resolve().parent
Loader = tuple[str, Callable[[str], object], type[Exception]]
LOADERS: list[Loader] = [
    ("public_health/diseases.toml", catalogue_from_toml, CatalogueError),
    ("public_health/foodborne.toml", foodborne_from_toml, CatalogueError),
    ("workforce/record_checklist.toml", checklist_from_toml, ChecklistError),
    ("referral/catalogues.toml", catalogues_from_toml, ReferralCatalogueError),
    ("appraisal/sets/national-2024.toml", indicator_set_from_toml, IndicatorSetError),
    ("simulator/pilots/scenarios.toml", load_scenarios, InvalidInput),
    ("budget/policies/pingwu.toml", policy_from_toml, PolicyError),
]
HOSTILE: list[Any] = ["heavy", "", "nan", "inf", -1, 0, 10**18, True, [], {"x": 1}, 1.5, "1e400"]


def _leaves(d: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _leaves(v, (*path, i))
    else:
        yield path


@pytest.mark.parametrize(("name", "load", "named"), LOADERS, ids=[x[0] for x in LOADERS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_hostile_value_is_named_not_raised_as_a_python_error(name: str, load: Callable[[str], object],
                                                               named: type[Exception], data: st.DataObject) -> None:
    raw = tomllib.loads((SRC / name).read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(list(_leaves(raw))), label="key")
    value = data.draw(st.sampled_from(HOSTILE), label="value")
    doc = copy.deepcopy(raw)
    at = doc
    for p in path[:-1]:
        at = at[p]
    at[path[-1]] = value
    try:
        load(tomli_w.dumps(doc))
    except named:
        pass  # the loader's own error: file and key named (other tests check the wording)


def test_the_shipped_files_load() -> None:
    for name, load, _ in LOADERS:
        load((SRC / name).read_text(encoding="utf-8"))
