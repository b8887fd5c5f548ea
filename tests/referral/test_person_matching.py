"""Same-person recognition: normalisation, keyed deterministic keys, linking without merging."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest

from services.referral import person_matching
from services.referral.person_matching import (
    KeyKind,
    Keyring,
    decide,
    normalise_name,
    normalise_ni,
)

DOB = date(1984, 3, 2)
KEYRING = Keyring.parse(["test-1:unit-test-person-match-secret-0123456789"])
match_keys = partial(person_matching.match_keys, KEYRING)


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


# --- keyed keys and rotation ---------------------------------------------------------------

OLD = "old-1:an-older-person-match-secret-abcdefghij"
NEW = "new-2:the-newest-person-match-secret-klmnopqrst"


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([], "HEARTH_PERSON_MATCH_KEYS: required"),
        (["no-separator-at-all-but-long-enough-to-be-a-secret"], "HEARTH_PERSON_MATCH_KEYS[0]"),
        (["k1:tiny-Z9"], "shorter than 32"),
        (["bad id:" + "s" * 40], "id [A-Za-z0-9_-]"),
        ([NEW, "new-2:" + "x" * 40], "repeated"),
    ],
)
def test_missing_or_malformed_keys_are_refused_naming_the_setting(
    entries: list[str], says: str
) -> None:
    with pytest.raises(person_matching.MatchKeyError, match=r"HEARTH_PERSON_MATCH_KEYS") as err:
        Keyring.parse(entries)
    assert says in str(err.value)
    assert all(e.partition(":")[2] not in str(err.value) for e in entries if ":" in e)
    assert "secret" not in repr(Keyring.parse([NEW]))  # never printed


def test_keys_are_keyed_hmacs_not_plain_hashes() -> None:
    import hashlib

    from shared.ids import stable_id

    keys = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    plain = {
        stable_id("person-ni", "QQ123456C"),
        hashlib.sha256(b"QQ123456C").hexdigest(),
        stable_id("person-name-dob", "alex morgan", DOB.isoformat()),
    }
    assert all(k.value.startswith(f"{k.kind.value}:test-1:") for k in keys)
    assert not any(p in k.value for p in plain for k in keys)
    # Another deployment's secret makes other keys: the index is useless without it.
    other = person_matching.match_keys(Keyring.parse([NEW]), "Alex", "Morgan", DOB, "QQ123456C")
    assert {k.value for k in other}.isdisjoint(k.value for k in keys)


def test_rotation_matches_under_the_old_key_and_claims_under_the_new() -> None:
    before = person_matching.match_keys(Keyring.parse([OLD]), "Alex", "Morgan", DOB, "QQ123456C")
    owners = {k.value: "p-1" for k in before}
    after = person_matching.match_keys(
        Keyring.parse([NEW, OLD]), "Alex", "Morgan", DOB, "QQ123456C"
    )
    assert [k.key_id for k in after] == ["new-2", "old-1", "new-2", "old-1"]
    decision = decide(after, owners, {"p-1": list(owners)}, "p-new")
    assert decision.person_id == "p-1" and decision.matched_on == KeyKind.NI_NUMBER
    assert [(k.kind, k.key_id) for k in decision.keys_to_claim] == [
        (KeyKind.NI_NUMBER, "new-2"),
        (KeyKind.NAME_AND_BIRTH_DATE, "new-2"),
    ]


def test_name_match_under_an_old_key_with_a_different_ni_is_refused() -> None:
    before = person_matching.match_keys(Keyring.parse([OLD]), "Alex", "Morgan", DOB, "QQ123456C")
    owners = {k.value: "p-1" for k in before}
    other = person_matching.match_keys(
        Keyring.parse([NEW, OLD]), "Alex", "Morgan", DOB, "AB654321D"
    )
    decision = decide(other, owners, {"p-1": list(owners)}, "p-new")
    assert decision.is_new and decision.possible_matches == ["p-1"]


# --- every script kept ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "family", "normalised"),
    [
        ("José", "王", "jose 王"),
        ("Мария", "Иванова", "мария иванова"),
        ("Йосиф", "Ёлкин", "йосиф ёлкин"),  # Cyrillic letters with marks stay whole
        ("محمد", "العلي", "محمد العلي"),
        ("\uff21\uff4c\uff45\uff58", "Morgan", "alex morgan"),  # NFKC: full-width "Alex"
        ("Se\u0301an", "Mu\u0308ller", "sean muller"),  # decomposed accents fold too
        ("Straße", "Groß", "strasse gross"),
    ],
)
def test_names_in_every_script_keep_their_letters(given: str, family: str, normalised: str) -> None:
    assert normalise_name(given, family) == normalised


def test_same_latin_given_name_different_cjk_family_names_are_two_people() -> None:
    wang = match_keys("José", "王", DOB, None)
    li = match_keys("José", "李", DOB, None)
    assert wang and li and {k.value for k in wang}.isdisjoint(k.value for k in li)
    decision = decide(li, {k.value: "p-wang" for k in wang}, {}, "p-li")
    assert decision.person_id == "p-li" and decision.possible_matches == []


def test_accents_fold_for_latin_names_only() -> None:
    assert match_keys("Séan", "Ó Briain", DOB, None) == match_keys("Sean", "O Briain", DOB, None)
    assert match_keys("Йосиф", "Петров", DOB, None) != match_keys("Иосиф", "Петров", DOB, None)


@pytest.mark.parametrize(("given", "family"), [("!!!", "..."), ("Alex", "- '"), ("", "Morgan")])
def test_a_name_with_no_letters_left_gives_no_key(given: str, family: str) -> None:
    assert match_keys(given, family, DOB, None) == []


# --- across organisations -------------------------------------------------------------------


def test_partner_matches_name_only_organisations_with_a_definite_match() -> None:
    keys = match_keys("Alex", "Morgan", DOB, "QQ123456C")
    conflicting = match_keys("Alex", "Morgan", DOB, "AB654321D")
    owners = {
        "leeds-council": {k.value: "p-leeds" for k in keys},
        "york-council": {conflicting[1].value: "p-york"},  # name+dob, another NI: not told
        "hull-council": {},
    }
    held = {"p-leeds": [k.value for k in keys], "p-york": [k.value for k in conflicting]}
    assert person_matching.partner_matches(keys, owners, held) == ["leeds-council"]


def test_matching_partners_need_a_live_identity_agreement_for_person_matching() -> None:
    from datetime import UTC, datetime

    from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose

    now = datetime(2026, 1, 10, tzinfo=UTC)

    def agreement(other: str, **fields: object) -> Agreement:
        values: dict[str, object] = {
            "agreement_id": f"a-{other}",
            "proposed_by": "derby-homes",
            "counterparty": other,
            "purpose": Purpose.PERSON_MATCHING,
            "categories": frozenset({DataCategory.IDENTITY}),
            "starts": datetime(2026, 1, 1, tzinfo=UTC),
            "status": AgreementStatus.ACTIVE,
            **fields,
        }
        return Agreement.model_validate(values)

    held = [
        agreement("leeds-council"),
        agreement("york-council", status=AgreementStatus.PROPOSED),
        agreement("hull-council", ends=datetime(2026, 1, 5, tzinfo=UTC)),
        agreement("bath-council", purpose=Purpose.TENANCY_DATA),
        agreement("kent-council", categories=frozenset({DataCategory.CONTACT})),
        agreement("leeds-council", agreement_id="a-other", proposed_by="york-council"),
    ]
    assert person_matching.matching_partners(held, "derby-homes", now) == ["leeds-council"]
    assert person_matching.matching_partners(held, "leeds-council", now) == [
        "derby-homes",
        "york-council",
    ]
