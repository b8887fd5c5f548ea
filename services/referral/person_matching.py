"""Recognising the same person across referrals. Pure: no I/O.

Matching is deterministic, on strong identifiers only, normalised first:
- the National Insurance number (spaces and case ignored), or
- the full name plus date of birth (case, Latin accents, punctuation and spacing ignored; the
  letters of every script kept, so "José 王" and "José 李" are two people).
A name alone never matches.

Keys are HMAC-SHA256 under a deployment secret (`HEARTH_PERSON_MATCH_KEYS`), stored as
`<kind>:<key id>:<hex>`: without the secret, the index cannot be brute-forced from the small
space of NI numbers or names and birth dates. Rotation: a referral's keys are made under every
live key, so people indexed under an older key still match; new entries are claimed under the
newest key only (a person matched under an older key gains the newest one as they are referred
again; re-keying the whole index from the referrals is a later job).

A match links the new referral to the existing person id; nothing is merged. When the name and
date of birth match someone recorded with a *different* NI number, the two are not treated as
one person: the referral gets its own person and a `possible_match` link to the other.

Person ids belong to one organisation. Another organisation's index is asked only when the two
have a live person-matching agreement (`matching_partners`), and the answer is only *that* the
partner knows the person (`partner_matches`), never its person id or case history.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from shared.agreements import Agreement, DataCategory, Purpose, check

NI_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{6}[A-D]?$")
SETTING = "HEARTH_PERSON_MATCH_KEYS"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_SECRET_CHARS = 32
# Matching compares identity data (keyed), so the agreement must cover that category.
MATCHING_CATEGORIES = frozenset({DataCategory.IDENTITY})


class KeyKind(StrEnum):
    NI_NUMBER = "ni"
    NAME_AND_BIRTH_DATE = "name_dob"


class MatchKeyError(ValueError):
    """The match keys are missing or malformed; the message names the setting, never a secret."""


@dataclass(frozen=True)
class Keyring:
    """The live HMAC keys, newest first: (key id, secret)."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    @property
    def newest_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> list[str]:
        return [kid for kid, _ in self.keys]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> Keyring:
        """`["<key id>:<secret>", ...]`, newest first. Refuses (naming the setting and the
        entry's position, never its text) an empty list, a short secret or a repeated id:
        person matching never runs unkeyed."""
        if not entries:
            raise MatchKeyError(f'{SETTING}: required (a JSON list of "<key-id>:<secret>")')
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(entries):
            kid, sep, secret = entry.partition(":")
            where = f"{SETTING}[{position}]"
            if not sep or not KEY_ID_PATTERN.match(kid):
                raise MatchKeyError(f'{where}: expected "<key-id>:<secret>", id [A-Za-z0-9_-]')
            if len(secret) < MIN_SECRET_CHARS:
                raise MatchKeyError(f"{where}: secret shorter than {MIN_SECRET_CHARS} characters")
            if kid in (k for k, _ in keys):
                raise MatchKeyError(f"{where}: key id {kid!r} repeated")
            keys.append((kid, secret.encode()))
        return cls(tuple(keys))


@dataclass(frozen=True)
class MatchKey:
    kind: KeyKind
    value: str  # "<kind>:<key id>:<hmac>": keyed, never the identifier itself
    key_id: str


def normalise_ni(ni_number: str | None) -> str | None:
    """'ab 12 34 56 c' -> 'AB123456C'; None when it is not a plausible NI number."""
    if not ni_number:
        return None
    compact = re.sub(r"[\s\-]", "", ni_number).upper()
    return compact if NI_PATTERN.match(compact) else None


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN ")


def normalise_name_part(part: str) -> str:
    """One name, every script kept: NFKC + casefold; accents dropped from Latin letters only
    ('Séan' == 'Sean'); other scripts' letters and marks kept as written; punctuation, spaces
    and symbols dropped."""
    kept: list[str] = []
    after_latin = False  # a combining mark NFKC could not compose onto a Latin letter
    for char in unicodedata.normalize("NFKC", part).casefold():
        category = unicodedata.category(char)
        if category.startswith("L"):
            after_latin = _is_latin(char)
            if after_latin:
                base = unicodedata.normalize("NFD", char)
                kept.extend(c for c in base if not unicodedata.category(c).startswith("M"))
            else:
                kept.append(char)
        elif category.startswith("M"):
            if not after_latin:
                kept.append(char)  # e.g. Devanagari vowel signs are part of the letters
        elif category.startswith("N"):
            after_latin = False
            kept.append(char)
        else:
            after_latin = False  # punctuation, separators, symbols, controls: dropped
    return "".join(kept)


def normalise_name(given_name: str, family_name: str) -> str:
    """'  Séan  O'Brien-Smith ' -> 'sean obriensmith'; 'José 王' keeps 王."""
    parts = (normalise_name_part(given_name), normalise_name_part(family_name))
    return " ".join(p for p in parts if p)


def match_keys(
    keyring: Keyring,
    given_name: str | None,
    family_name: str | None,
    date_of_birth: date | None,
    ni_number: str | None,
) -> list[MatchKey]:
    """Strongest kind first; within a kind, newest key first."""
    identifiers: list[tuple[KeyKind, str]] = []
    ni = normalise_ni(ni_number)
    if ni:
        identifiers.append((KeyKind.NI_NUMBER, ni))
    if given_name and family_name and date_of_birth:
        given, family = normalise_name_part(given_name), normalise_name_part(family_name)
        if given and family:  # a name with no letters left (all punctuation) never matches
            # Unit separator between fields: no field can contain it after normalisation.
            identifiers.append(
                (KeyKind.NAME_AND_BIRTH_DATE, f"{given}\x1f{family}\x1f{date_of_birth}")
            )
    return [
        MatchKey(kind, _mac(kind, kid, secret, message), kid)
        for kind, message in identifiers
        for kid, secret in keyring.keys
    ]


def _mac(kind: KeyKind, kid: str, secret: bytes, message: str) -> str:
    digest = hmac.new(secret, f"{kind.value}\x1f{message}".encode(), hashlib.sha256)
    return f"{kind.value}:{kid}:{digest.hexdigest()}"


@dataclass(frozen=True)
class MatchDecision:
    person_id: str
    matched_on: KeyKind | None  # None: a new person
    keys_to_claim: list[MatchKey]  # identifiers the person gains with this referral
    possible_matches: list[str] = field(default_factory=list)  # linked, not merged
    partner_matches: list[str] = field(default_factory=list)  # organisations, by agreement
    # Known to no index until this referral (its own new person, every key claimed just now,
    # or no key at all): no entry, open referrals or closures of theirs to look up.
    first_seen: bool = False

    @property
    def is_new(self) -> bool:
        return self.matched_on is None


def decide(
    keys: Sequence[MatchKey],
    owners: Mapping[str, str],
    keys_of_person: Mapping[str, Sequence[str]],
    new_person_id: str,
) -> MatchDecision:
    """Which person (of one organisation's index) a referral with `keys` belongs to.

    owners: key value -> person id already holding it; keys_of_person: person id -> all key
    values that person holds (to see whether a name+dob match has a conflicting NI number).
    Only the newest key's values are claimed.
    """
    ni_values = {k.value for k in keys if k.kind == KeyKind.NI_NUMBER}
    chosen: str | None = None
    matched_on: KeyKind | None = None
    possible: list[str] = []
    for key in keys:
        owner = owners.get(key.value)
        if owner is None:
            continue
        if chosen is None and _compatible(key, ni_values, keys_of_person.get(owner, ())):
            chosen, matched_on = owner, key.kind
        elif owner != chosen and owner not in possible:
            possible.append(owner)
    person_id = chosen or new_person_id
    newest = keys[0].key_id if keys else None
    to_claim = [k for k in keys if k.key_id == newest and k.value not in owners]
    return MatchDecision(person_id, matched_on, to_claim, [p for p in possible if p != person_id])


def _compatible(key: MatchKey, ni_values: set[str], their_keys: Sequence[str]) -> bool:
    """A name+dob match is refused when both sides have an NI number and they differ."""
    if key.kind == KeyKind.NI_NUMBER or not ni_values:
        return True
    their_ni = {k for k in their_keys if k.startswith(f"{KeyKind.NI_NUMBER.value}:")}
    return not their_ni or bool(their_ni & ni_values)


def partner_matches(
    keys: Sequence[MatchKey],
    owners_by_organisation: Mapping[str, Mapping[str, str]],
    keys_of_person: Mapping[str, Sequence[str]],
) -> list[str]:
    """The partner organisations whose index holds this person (a definite match by the same
    rules as at home; a possible match alone is not told), sorted."""
    return sorted(
        organisation
        for organisation, owners in owners_by_organisation.items()
        if owners and not decide(keys, owners, keys_of_person, "").is_new
    )


def matching_partners(
    agreements: Iterable[Agreement], organisation: str, at: datetime
) -> list[str]:
    """The organisations `organisation` may match people with at `at`: a live person-matching
    agreement covering identity data, checked by the one shared rule."""
    held = list(agreements)
    others = {party for a in held for party in a.parties if organisation in a.parties}
    others.discard(organisation)
    return sorted(
        other
        for other in others
        if check(
            held,
            from_organisation=organisation,
            to_organisation=other,
            purpose=Purpose.PERSON_MATCHING,
            categories=MATCHING_CATEGORIES,
            at=at,
        )
    )
