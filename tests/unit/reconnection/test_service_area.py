"""Tool 3, criterion 1, as the document words it: "A local connection outside of LB of Hackney,
LB of Tower Hamlets and the City of London but within the UK."""

from __future__ import annotations

from datetime import date

import pytest

from services.reconnection.eligibility import EligibilityInput, StreetContact, assess_eligibility
from services.reconnection.local_connection import AreaCountry
from services.reconnection.service_area import (
    ServiceArea,
    boroughs_of,
    qualifying_areas,
    within_service_area,
    within_uk,
)
from shared.codes import SupportNeed

TODAY = date(2026, 3, 2)
TRI_BOROUGH = ServiceArea(
    name="tri-borough", boroughs=["LB of Hackney", "LB of Tower Hamlets", "City of London"]
)


@pytest.mark.parametrize(
    ("area", "inside"),
    [
        ("Hackney", True),  # "LB of Hackney"
        ("tower hamlets", True),
        ("London Borough of Tower Hamlets", True),
        ("City of London", True),
        ("Islington", False),  # a London borough the service does not work in
        ("Leeds", False),
    ],
)
def test_outside_of_the_three_boroughs(area: str, inside: bool) -> None:
    assert within_service_area(area, TRI_BOROUGH.boroughs) is inside


@pytest.mark.parametrize(
    ("country", "uk"),
    [
        (None, True),  # none recorded: a UK reconnection, said so in the criterion
        ("England", True),
        ("Scotland", True),
        ("Wales", True),
        ("Northern Ireland", True),
        ("United Kingdom", True),
        ("Isle of Man", False),  # a Crown Dependency, not the UK
        ("Jersey", False),
        ("Republic of Ireland", False),
        ("Poland", False),
    ],
)
def test_but_within_the_uk(country: str | None, uk: bool) -> None:
    assert within_uk(country) is uk


def test_the_areas_that_qualify_and_why_the_others_do_not() -> None:
    countries = [AreaCountry(area="Dublin", country="Ireland")]
    qualifying, refused = qualifying_areas(
        ["Leeds", "Tower Hamlets", "Dublin"], TRI_BOROUGH.boroughs, countries
    )
    assert qualifying == ["Leeds"]
    assert refused == [
        "Tower Hamlets is within the service area",
        "Dublin (Ireland) is not within the UK",
    ]


def test_without_a_service_area_the_referring_area_stands_for_it() -> None:
    assert boroughs_of(None, "Hackney") == ["Hackney"]
    assert boroughs_of(TRI_BOROUGH, "Hackney") == TRI_BOROUGH.boroughs  # already one of them
    assert boroughs_of(TRI_BOROUGH, "Camden") == [*TRI_BOROUGH.boroughs, "Camden"]


def _first_criterion(
    areas: list[str], service_area: ServiceArea | None, countries: list[AreaCountry] = ()
) -> str:
    given = EligibilityInput(
        street_contacts=[StreetContact(on=TODAY, bedded_down=True)] * 2,
        recourse_to_public_funds=True,
    )
    result = assess_eligibility(
        given,
        today=TODAY,
        referral_needs=[SupportNeed.MENTAL_HEALTH, SupportNeed.ALCOHOL_DEPENDENCY],
        referring_area="Hackney",
        connection_areas=areas,
        service_area=service_area,
        countries=list(countries),
    )
    return result.criteria[0].status


def test_eligibility_applies_the_whole_service_area_not_only_the_referring_borough() -> None:
    """Referred in Hackney, connected only to Tower Hamlets: inside the tri-borough area, so
    criterion 1 is not met (with one referring-area string it was)."""
    assert _first_criterion(["Tower Hamlets"], TRI_BOROUGH) == "not_met"
    assert _first_criterion(["Tower Hamlets"], None) == "met"  # no area set: as before
    assert _first_criterion(["Leeds", "Tower Hamlets"], TRI_BOROUGH) == "met"
    ireland = [AreaCountry(area="Cork", country="Republic of Ireland")]
    assert _first_criterion(["Cork"], TRI_BOROUGH, ireland) == "not_met"
