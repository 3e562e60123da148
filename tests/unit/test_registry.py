from yigongti.registry.domain import Consortium, Institution, Tier, registry_issues


def inst(i: str, tier: Tier, *, level: int = 1, kind: str = "township_centre", cons: str | None = "C1",
         parent: str | None = None, lon: float = 104.5, lat: float = 32.4) -> Institution:
    return Institution(i, i, tier, level, kind, cons, parent, "510727", lon, lat)


GOOD = [inst("H", Tier.COUNTY, level=2, kind="general"), inst("T", Tier.TOWNSHIP),
        inst("V", Tier.VILLAGE, level=0, kind="village_clinic", parent="T"),
        inst("X", Tier.OUTSIDE, level=3, kind="general", cons=None)]
CONS = [Consortium("C1", "one", "510727", "H")]


def test_a_sound_registry_has_no_issues() -> None:
    assert registry_issues(GOOD, CONS) == []


def test_lead_must_be_secondary_general_or_tcm() -> None:
    bad = [inst("H", Tier.COUNTY, level=1, kind="mch")] + GOOD[1:]
    msgs = [i.message for i in registry_issues(bad, CONS)]
    assert any("level 1" in m for m in msgs) and any("kind mch" in m for m in msgs)


def test_village_parent_must_be_township_of_same_consortium() -> None:
    other = [inst("T2", Tier.TOWNSHIP, cons="C2"), inst("V2", Tier.VILLAGE, kind="village_clinic", parent="T2"),
             inst("V3", Tier.VILLAGE, kind="village_clinic", parent="H")]
    cons = CONS + [Consortium("C2", "two", "510727", "H")]
    issues = registry_issues(GOOD + other, cons)
    cols = {(i.index, i.column) for i in issues}
    assert (5, "parent_id") in cols and (6, "parent_id") in cols


def test_ids_unique_and_coordinates_in_china() -> None:
    issues = registry_issues(GOOD + [inst("T", Tier.TOWNSHIP, lon=2.0, lat=60.0)], CONS)
    cols = sorted(i.column for i in issues)
    assert cols == ["inst_id", "lat", "lon"]
