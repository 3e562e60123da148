"""A finished simulation run written into an app's database as the run's thread writes one (a row of each kind), for
the tests that open every page or every download of the app without running a simulation."""

from __future__ import annotations

from fastapi import FastAPI

from yigongti.simulator import runs
from yigongti.simulator.domain import ConsortiumYear, CountyYear, SimulationResult
from yigongti.simulator.store import SimulationRunRepository

__all__ = ["finished_run"]


def finished_run(app: FastAPI) -> int:
    """A done run of the first two shipped scenarios, 1 year, 1 replicate; its id."""
    scenarios = tuple(o.scenario for o in runs.offered_scenarios(None)[0][:2])
    result = SimulationResult(list(scenarios), ["county"], 1, 1, 1,
                              [CountyYear("county", s.name, s.payment.value, 1, 2027, 10, 20, 1, 1, 15, 100_00,
                                          60_00, 90_00, 80_00, 10_00, 0) for s in scenarios],
                              [ConsortiumYear("county", s.name, 1, 2027, "G1", "示例", 10, 0, 0, 90_00, 60_00,
                                              30_00, 30_00, 0, "90", "A") for s in scenarios],
                              [CountyYear("county", "observed", "global_budget", 0, 2026, 10, 20, 1, 1, 15, 100_00,
                                          60_00, 0, 0, 0, 0)])
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        repo = SimulationRunRepository(s)
        run_id = repo.add(requested_by="test", at=ctx.clock.now(),
                          parameters=runs.RunParameters(scenarios, 1, 1, 1).to_json())
        repo.set(run_id, status="done", results=runs.encode_result(result), finished_at=ctx.clock.now())
    return run_id
