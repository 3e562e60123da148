import pytest

from yigongti.core.policy import Policy, PolicyError, policy_from_toml, policy_to_toml


def test_defaults_are_rules_md() -> None:
    p = Policy()
    assert p.benefits.flat_copay == 2000
    assert p.benefits.designated_county.inpatient_deductible == 30000
    assert p.benefits.outside_tertiary.inpatient_rate == 6000
    assert p.benefits.annual_cap("employee") == 40_000_000
    assert str(p.capitation.weight(85)) == "2.90" and str(p.capitation.weight(4)) == "1.10"
    assert p.settlement.tier_shares == {"county": 4000, "township": 3500, "village": 2500}


def test_round_trip_through_toml() -> None:
    assert policy_from_toml(policy_to_toml(Policy())) == Policy()


def test_partial_file_keeps_defaults() -> None:
    p = policy_from_toml('[benefits]\nflat_copay = "15.00"\n')
    assert p.benefits.flat_copay == 1500 and p.benefits.designated_primary.inpatient_rate == 9000


def test_errors_name_every_bad_key() -> None:
    with pytest.raises(PolicyError) as exc:
        policy_from_toml('[benefits]\nflat_copay = "x"\nnonsense = 1\n[settlement.tier_shares]\ncounty = "50%"\n')
    text = str(exc.value)
    assert "benefits.flat_copay" in text and "benefits.nonsense" in text and "tier_shares" in text
