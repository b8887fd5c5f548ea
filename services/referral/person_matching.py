"""Recognising the same person across referrals. Pure: no I/O.

Matching is deterministic, on strong identifiers only, normalised first:
- the National Insurance number (spaces and case ignored), or
- the full name plus date of birth (case, accents, punctuation and spacing ignored).
A name alone never matches. Keys are hashed, so the people index holds no plain identifiers.

A match links the new referral to the existing person id; nothing is merged. When the name and
date of birth match someone recorded with a *different* NI number, the two are not treated as
one person: the referral gets its own person and a `possible_match` link to the other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shared.ids import stable_id

NI_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{6}[A-D]?$")


class KeyKind(StrEnum):
    NI_NUMBER = "ni"
    NAME_AND_BIRTH_DATE = "name_dob"


@dataclass(frozen=True)
class MatchKey:
    kind: KeyKind
    value: str  # "<kind>:<hash>": hashed, never the identifier itself


def normalise_ni(ni_number: str | None) -> str | None:
    """'ab 12 34 56 c' -> 'AB123456C'; None when it is not a plausible NI number."""
    if not ni_number:
        return None
    compact = re.sub(r"[\s\-]", "", ni_number).upper()
    return compact if NI_PATTERN.match(compact) else None


def normalise_name(given_name: str, family_name: str) -> str:
    """'  Séan  O'Brien-Smith ' -> 'sean obriensmith': case, accents, punctuation ignored."""
    parts = []
    for part in (given_name, family_name):
        folded = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        words = re.sub(r"[^a-z0-9\s]", "", folded.casefold()).split()
        parts.append("".join(words))
    return " ".join(p for p in parts if p)


def match_keys(
    given_name: str | None,
    family_name: str | None,
    date_of_birth: date | None,
    ni_number: str | None,
) -> list[MatchKey]:
    """Strongest first."""
    keys: list[MatchKey] = []
    ni = normalise_ni(ni_number)
    if ni:
        keys.append(_key(KeyKind.NI_NUMBER, "person-ni", ni))
    if given_name and family_name and date_of_birth:
        name = normalise_name(given_name, family_name)
        if name:
            dob = date_of_birth.isoformat()
            keys.append(_key(KeyKind.NAME_AND_BIRTH_DATE, "person-name-dob", name, dob))
    return keys


def _key(kind: KeyKind, *parts: str) -> MatchKey:
    return MatchKey(kind, f"{kind.value}:{stable_id(*parts)}")


@dataclass(frozen=True)
class MatchDecision:
    person_id: str
    matched_on: KeyKind | None  # None: a new person
    keys_to_claim: list[MatchKey]  # identifiers the person gains with this referral
    possible_matches: list[str] = field(default_factory=list)  # linked, not merged

    @property
    def is_new(self) -> bool:
        return self.matched_on is None


def decide(
    keys: Sequence[MatchKey],
    owners: Mapping[str, str],
    keys_of_person: Mapping[str, Sequence[str]],
    new_person_id: str,
) -> MatchDecision:
    """Which person a referral with `keys` belongs to.

    owners: key value -> person id already holding it; keys_of_person: person id -> all key
    values that person holds (to see whether a name+dob match has a conflicting NI number).
    """
    ni_key = next((k for k in keys if k.kind == KeyKind.NI_NUMBER), None)
    chosen: str | None = None
    matched_on: KeyKind | None = None
    possible: list[str] = []
    for key in keys:
        owner = owners.get(key.value)
        if owner is None:
            continue
        if chosen is None and _compatible(key, ni_key, keys_of_person.get(owner, ())):
            chosen, matched_on = owner, key.kind
        elif owner != chosen and owner not in possible:
            possible.append(owner)
    person_id = chosen or new_person_id
    to_claim = [k for k in keys if k.value not in owners]
    return MatchDecision(person_id, matched_on, to_claim, [p for p in possible if p != person_id])


def _compatible(key: MatchKey, ni_key: MatchKey | None, their_keys: Sequence[str]) -> bool:
    """A name+dob match is refused when both sides have an NI number and they differ."""
    if key.kind == KeyKind.NI_NUMBER or ni_key is None:
        return True
    their_ni = [k for k in their_keys if k.startswith(f"{KeyKind.NI_NUMBER.value}:")]
    return not their_ni or ni_key.value in their_ni
