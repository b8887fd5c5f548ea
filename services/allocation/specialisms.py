"""Caseworker specialisms and which support needs call for which specialism."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared.codes import Route, SupportNeed


class Specialism(StrEnum):
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    DOMESTIC_ABUSE = "domestic_abuse"
    YOUNG_PEOPLE = "young_people"  # young people and care leavers
    OFFENDING = "offending"
    LEARNING_DISABILITY = "learning_disability"
    RECONNECTION = "reconnection"  # Safe Connections
    GENERALIST = "generalist"  # generic floating support: takes cases no specialism claims

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Specialism.MENTAL_HEALTH: "mental-health",
    Specialism.SUBSTANCE_MISUSE: "substance-misuse",
    Specialism.DOMESTIC_ABUSE: "domestic-abuse",
    Specialism.YOUNG_PEOPLE: "young-people/care-leaver",
    Specialism.OFFENDING: "offending",
    Specialism.LEARNING_DISABILITY: "learning-disability",
    Specialism.RECONNECTION: "reconnection",
    Specialism.GENERALIST: "generalist",
}

# The staged model refers people to specialist mental health, domestic abuse and learning
# disability floating support; Derby links with ex-offender and 16-24 specialist teams.
NEED_SPECIALISM: dict[SupportNeed, Specialism] = {
    SupportNeed.MENTAL_HEALTH: Specialism.MENTAL_HEALTH,
    SupportNeed.DRUG_DEPENDENCY: Specialism.SUBSTANCE_MISUSE,
    SupportNeed.ALCOHOL_DEPENDENCY: Specialism.SUBSTANCE_MISUSE,
    SupportNeed.DOMESTIC_ABUSE: Specialism.DOMESTIC_ABUSE,
    SupportNeed.SEXUAL_ABUSE: Specialism.DOMESTIC_ABUSE,
    SupportNeed.OTHER_ABUSE: Specialism.DOMESTIC_ABUSE,
    SupportNeed.YOUNG_PERSON_16_17: Specialism.YOUNG_PEOPLE,
    SupportNeed.YOUNG_PERSON_18_25: Specialism.YOUNG_PEOPLE,
    SupportNeed.YOUNG_PARENT: Specialism.YOUNG_PEOPLE,
    SupportNeed.CARE_LEAVER_18_20: Specialism.YOUNG_PEOPLE,
    SupportNeed.CARE_LEAVER_21_PLUS: Specialism.YOUNG_PEOPLE,
    SupportNeed.OFFENDING: Specialism.OFFENDING,
    SupportNeed.LEARNING_DISABILITY: Specialism.LEARNING_DISABILITY,
}


def wanted_specialisms(route: Route, needs: Iterable[SupportNeed]) -> frozenset[Specialism]:
    """Specialisms any one of which can lead the case. Reconnection needs a reconnection
    worker whatever the needs; needs no specialism claims go to a generalist."""
    if route == Route.RECONNECTION:
        return frozenset({Specialism.RECONNECTION})
    wanted = frozenset(NEED_SPECIALISM[n] for n in needs if n in NEED_SPECIALISM)
    return wanted or frozenset({Specialism.GENERALIST})


def describe(specialisms: Iterable[Specialism]) -> str:
    """`mental-health or substance-misuse`, in a stable order."""
    ordered = [s.label for s in Specialism if s in set(specialisms)]
    return " or ".join(ordered)
