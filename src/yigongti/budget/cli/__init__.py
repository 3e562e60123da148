"""Commands of the budget (总额预算与清算命令): settle, run, calibrate."""
