"""Performance appraisal (绩效考核): indicator sets, measures, scores and grades."""
