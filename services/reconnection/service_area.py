"""Tool 3, criterion 1: "A local connection outside of LB of Hackney, LB of Tower Hamlets and
the City of London but within the UK."

The boroughs are the area the service works in: Safe Connections' tri-borough area, another
organisation's own (configured per organisation, `PUT /v1/service-area`). Without one set, the
case's referring area stands in for it, as one borough. A connection counts when its area is
outside every borough of the service area and within the UK. "Within the UK" is read as the
document's form does (a "UK reconnection"): England, Scotland, Wales and Northern Ireland; the
Crown Dependencies (Isle of Man, Jersey, Guernsey) and the Republic of Ireland are not the UK.
An area whose country is not recorded is taken as within the UK, and the criterion says so.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.reconnection.local_connection import AreaCountry, area_key

UNITED_KINGDOM = frozenset(
    {
        "united kingdom",
        "uk",
        "great britain",
        "england",
        "scotland",
        "wales",
        "northern ireland",
    }
)
# Named so a reader sees why: close to the UK, never within it.
NOT_THE_UK = frozenset(
    {"isle of man", "jersey", "guernsey", "channel islands", "ireland", "republic of ireland"}
)
# Leading words a borough's name may carry ("LB of Hackney" is Hackney).
BOROUGH_PREFIXES = ("london borough of ", "lb of ", "royal borough of ", "borough of ")

Borough = str


class ServiceArea(BaseModel):
    """The boroughs an organisation's reconnection service works in."""

    name: str | None = Field(None, max_length=100, description="e.g. tri-borough")
    boroughs: list[Borough] = Field(
        min_length=1, max_length=50, description="e.g. LB of Hackney, City of London"
    )


def borough_key(name: str) -> str:
    """Boroughs compare as areas do, without "LB of" and the like: "LB of Hackney" is Hackney."""
    key = area_key(name)
    for prefix in BOROUGH_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def boroughs_of(service_area: ServiceArea | None, referring_area: str | None) -> list[str]:
    """The boroughs a connection must be outside: the service area's, and the referring area."""
    boroughs = list(service_area.boroughs) if service_area else []
    if referring_area and borough_key(referring_area) not in {borough_key(b) for b in boroughs}:
        boroughs.append(referring_area)
    return boroughs


def within_service_area(area: str, boroughs: list[str]) -> bool:
    return borough_key(area) in {borough_key(b) for b in boroughs}


def within_uk(country: str | None) -> bool:
    """A recorded country decides; none recorded is taken as the UK (a UK reconnection)."""
    if country is None:
        return True
    key = area_key(country)
    return key in UNITED_KINGDOM and key not in NOT_THE_UK


def country_of(area: str, countries: list[AreaCountry]) -> str | None:
    return next((c.country for c in countries if area_key(c.area) == area_key(area)), None)


def qualifying_areas(
    areas: list[str], boroughs: list[str], countries: list[AreaCountry]
) -> tuple[list[str], list[str]]:
    """Criterion 1 over the connection areas: (those outside the boroughs and within the UK,
    the others each with why not)."""
    qualifying: list[str] = []
    refused: list[str] = []
    for area in areas:
        country = country_of(area, countries)
        if within_service_area(area, boroughs):
            refused.append(f"{area} is within the service area")
        elif not within_uk(country):
            refused.append(f"{area} ({country}) is not within the UK")
        else:
            qualifying.append(area)
    return qualifying, refused
