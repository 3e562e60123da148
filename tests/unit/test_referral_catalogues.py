"""The disease catalogues of two-way referral (双向转诊病种目录): ours loads and validates, a county's file is laid
over it key by key, bad files are refused naming the file, the catalogue and the code, and the first-visit rule."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from yigongti.core.policy import ReferralPolicy
from yigongti.core.problems import InvalidInput
from yigongti.referral.domain import CatalogueError, catalogues_from_toml, first_visit_flag
from yigongti.referral.engine import DEFAULT_CATALOGUES, load_catalogues

OURS = tomllib.loads(DEFAULT_CATALOGUES.read_text(encoding="utf-8"))


def test_ours_has_ninety_first_visit_and_thirty_refer_down_diseases() -> None:
    cats = load_catalogues(ReferralPolicy())
    assert (len(cats.first_visit), len(cats.refer_down)) == (90, 30)
    assert "NOT an official list" in DEFAULT_CATALOGUES.read_text(encoding="utf-8")


@pytest.mark.parametrize(("dx", "key"), [("I10", "I10"), ("i10.x01", "I10"), ("J06.9", "J00-J06"), ("J03", "J00-J06"),
                                         ("J07", None), ("E03.9", "E03.9"), ("E03.1", None), ("K59.0", "K59.0"),
                                         ("", None), (None, None), ("S05.1", "S00-S09")])
def test_a_diagnosis_matches_a_code_by_prefix_and_a_range_by_category(dx: str | None, key: str | None) -> None:
    hit = load_catalogues(ReferralPolicy()).first_visit.match(dx)
    assert (hit[0] if hit else None) == key


def test_the_most_specific_code_wins() -> None:
    cats = catalogues_from_toml('[first_visit]\n"K29" = "胃炎 / Gastritis"\n"K29.5" = "慢性胃炎 / Chronic"\n'
                                '"K20-K31" = "食管胃十二指肠病 / Upper GI"\n'
                                '[refer_down]\n"I63" = "脑梗死 / Infarction"\n')
    assert cats.first_visit.match("K29.5")[0] == "K29.5"  # type: ignore[index]
    assert cats.first_visit.match("K29.1")[0] == "K29"  # type: ignore[index]
    assert cats.first_visit.match("K30")[0] == "K20-K31"  # type: ignore[index]


def test_a_countys_file_is_laid_over_ours_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "ours-plus.toml").write_text('[first_visit]\n"I10" = false\n"N18" = "慢性肾病 / CKD"\n',
                                             encoding="utf-8")
    cats = load_catalogues(ReferralPolicy(catalogues="ours-plus.toml"), tmp_path)
    assert len(cats.first_visit) == 90  # one dropped, one added
    assert cats.first_visit.match("I10") is None and cats.first_visit.match("N18.3") == ("N18", "慢性肾病 / CKD")
    assert cats.refer_down == load_catalogues(ReferralPolicy()).refer_down  # untouched


@pytest.mark.parametrize(("text", "said"), [
    ('[first_visit]\n"I1" = "x"', "[first_visit] 'I1': not an ICD-10 code"),
    ('[first_visit]\n"J06-J00" = "x"', "[first_visit] 'J06-J00': a range"),
    ('[first_visit]\n"J06.1-J07" = "x"', "[first_visit] 'J06.1-J07': a range"),
    ('[refer_down]\n"I63" = 3', "[refer_down] 'I63': the label must be text"),
    ('[refer_dwn]\n"I63" = "x"', "unknown table [refer_dwn]"),
    ('[first_visit\n', "not valid TOML"),
])
def test_a_bad_file_is_refused_naming_the_file_the_catalogue_and_the_code(tmp_path: Path, text: str,
                                                                         said: str) -> None:
    (tmp_path / "county.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_catalogues(ReferralPolicy(catalogues="county.toml"), tmp_path)
    message = str(err.value)
    assert "county.toml" in message and said in message


def test_a_catalogue_cannot_be_emptied() -> None:
    drop_all = "[refer_down]\n" + "".join(f'"{k}" = false\n' for k in OURS["refer_down"])
    with pytest.raises(CatalogueError, match=r"\[refer_down\] lists no disease"):
        catalogues_from_toml(drop_all, base=OURS)


def test_only_an_unreferred_non_emergency_county_visit_is_flagged() -> None:
    cats = load_catalogues(ReferralPolicy())
    assert first_visit_flag(cats, tier="county", diagnosis="I10", referred=False) == \
        ("I10", "原发性高血压 / Essential hypertension")
    assert first_visit_flag(cats, tier="county", diagnosis="I10", referred=True) is None
    assert first_visit_flag(cats, tier="county", diagnosis="I10", referred=False, emergency=True) is None
    assert first_visit_flag(cats, tier="township", diagnosis="I10", referred=False) is None
    assert first_visit_flag(cats, tier="county", diagnosis="I63.9", referred=False) is None  # not first-visit
