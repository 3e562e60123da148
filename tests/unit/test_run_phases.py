"""``yigongti run`` prints how long each step took (check, enroll, adjudicate, appraise, settle), measured from when a
step starts to when the next one does."""

from __future__ import annotations

from yigongti.budget.cli.run import phase_times
from yigongti.budget.year import STEPS


def test_each_step_runs_until_the_next_starts() -> None:
    started = {"check": 10.0, "enroll": 12.5, "adjudicate": 13.0, "appraise": 20.25, "settle": 21.0}
    assert phase_times(started, 24.0) == ("用时 / time: 检查 / check 2.5 s; 定点 / enroll 0.5 s; "
                                          "待遇结算 / adjudicate 7.2 s; 绩效考核 / appraise 0.8 s; "
                                          "总额清算 / settle 3.0 s; 合计 / total 14.0 s")


def test_the_check_is_the_first_step_and_skipped_steps_are_left_out() -> None:
    assert STEPS[0] == "check"
    assert phase_times({"check": 0.0, "settle": 1.0}, 3.0) == \
        "用时 / time: 检查 / check 1.0 s; 总额清算 / settle 2.0 s; 合计 / total 3.0 s"
    assert phase_times({}, 1.0) == ""
