"""Shared centres (资源共享中心): remote diagnosis orders (imaging, ECG, ultrasound, lab, pathology) placed at a primary
institution, read at a centre of the consortium, the report returned; turnaround measured; a valid result recognised
by every member (结果互认) and a repeat order inside its validity flagged."""
