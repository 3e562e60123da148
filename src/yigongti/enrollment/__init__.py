"""Designated care (定点诊疗): choices, households, designations, head counts and movements."""
