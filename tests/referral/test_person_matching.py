"""Same-person recognition: normalisation, deterministic keys, linking without merging."""

from __future__ import annotations

from datetime import date

import pytest

from services.referral.person_matching import (
    KeyKind,
    decide,
    match_keys,
    normalise_name,
    normalise_ni,
)

DOB = date(1984, 3, 2)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("QQ123456C", "QQ123456C"),
        ("qq 12 34 56 c", "QQ123456C"),
        (" QQ-12-34-56-C ", "QQ123456C"),
        ("QQ123456", "QQ123456"),  # suffix letter is optional on old records
        ("QQ12345", None),
        ("123456789", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_ni(raw: str | None, normalised: str | None) -> None:
    assert normalise_ni(raw) == normalised


@pytest.mark.parametrize(
    ("given", "family", "normalised"),
    [
        ("Alex", "Morgan", "alex morgan"),
        ("  ALEX ", " morgan  ", "alex morgan"),
        ("Séan", "O'Brien-Smith", "sean obriensmith"),
        ("Mary Jane", "Watson", "maryjane watson"),
        ("Zoë", "Brontë", "zoe bronte"),
    ],
)
def test_normalise_name(given: str, family: str, normalised: str) -> None:
    assert normalise_name(given, family) == normalised


def test_keys_strongest_first_and_hashed() -> None:
    keys = match_keys("Alex", "Morgan", DOB, "qq123456c")
    assert [k.kind for k in keys] == [KeyKind.NI_NUMBER, KeyKind.NAME_AND_BIRTH_DATE]
    assert all("QQ123456C" not in k.value and "morgan" not in k.value for k in keys)
    assert keys == match_keys(" alex ", "MORGAN", DOB, "QQ 12 34 56 C")


@pytest.mark.parametrize(
    ("given", "family", "dob", "ni", "kinds"),
    [
        ("Alex", "Morgan", None, None, []),  # a name alone never matches
        ("Alex", "Morgan", DOB, None, [KeyKind.NAME_AND_BIRTH_DATE]),
        (None, None, None, "QQ123456C", [KeyKind.NI_NUMBER]),
        ("Alex", "Morgan", None, "not-an-ni", []),
    ],
)
def test_which_keys_exist(given, family, dob, ni, kinds) -> None:
    assert [k.kind for k in match_keys(given, family, dob, ni)] == kinds


def test_new_person_claims_all_keys() -> None:
    keys = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    decision = decide(keys, {}, {}, "p-new")
    assert decision.is_new and decision.person_id == "p-new"
    assert decision.keys_to_claim == keys


def test_same_ni_different_spelling_of_name_is_the_same_person() -> None:
    first = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    owners = {k.value: "p-1" for k in first}
    again = match_keys("Alexander", "Morgan", DOB, "qq 123456 c")
    decision = decide(again, owners, {"p-1": list(owners)}, "p-new")
    assert decision.person_id == "p-1" and decision.matched_on == KeyKind.NI_NUMBER
    # The new spelling becomes another way to recognise them.
    assert [k.kind for k in decision.keys_to_claim] == [KeyKind.NAME_AND_BIRTH_DATE]


def test_name_and_birth_date_match_when_no_ni_given() -> None:
    first = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    owners = {k.value: "p-1" for k in first}
    decision = decide(match_keys("ALEX", "morgan", DOB, None), owners, {"p-1": list(owners)}, "x")
    assert decision.person_id == "p-1" and decision.matched_on == KeyKind.NAME_AND_BIRTH_DATE
    assert decision.keys_to_claim == []


def test_name_and_birth_date_with_a_different_ni_is_linked_not_merged() -> None:
    first = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    owners = {k.value: "p-1" for k in first}
    other = match_keys("Alex", "Morgan", DOB, "AB654321D")
    decision = decide(other, owners, {"p-1": list(owners)}, "p-new")
    assert decision.person_id == "p-new" and decision.is_new
    assert decision.possible_matches == ["p-1"]
    assert [k.kind for k in decision.keys_to_claim] == [KeyKind.NI_NUMBER]


def test_ni_and_name_pointing_at_two_people_prefers_ni_and_links_the_other() -> None:
    keys = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    owners = {keys[0].value: "p-ni", keys[1].value: "p-name"}
    decision = decide(keys, owners, {"p-ni": [keys[0].value], "p-name": [keys[1].value]}, "x")
    assert decision.person_id == "p-ni"
    assert decision.possible_matches == ["p-name"]
    assert decision.keys_to_claim == []


def test_different_date_of_birth_is_a_different_person() -> None:
    first = match_keys("Alex", "Morgan", DOB, None)
    owners = {k.value: "p-1" for k in first}
    decision = decide(match_keys("Alex", "Morgan", date(1984, 3, 3), None), owners, {}, "p-2")
    assert decision.person_id == "p-2" and decision.possible_matches == []
