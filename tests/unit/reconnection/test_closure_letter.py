"""Tool 4, step 7: "Contact client and write a letter confirming who their support will be in
local area and what to do in event of any issues and crises"."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notifications.routing import (
    DEFAULT_CRISIS_SUPPORT,
    DEFAULT_LOCAL_SUPPORT,
    OrgSettings,
    PlannedDelivery,
    RoutingInput,
    personalisation,
)
from services.notifications.routing_rules import Role
from shared.closure_letter import support_in_letter
from shared.codes import Channel

ORG = "derby-council"


def test_the_case_s_own_support_comes_first_the_organisation_s_text_frames_it() -> None:
    own = "Leeds floating support (Sam, 0113 000 0000) and your GP at Park Surgery"
    assert support_in_letter(own, DEFAULT_LOCAL_SUPPORT) == f"{own}\n\n{DEFAULT_LOCAL_SUPPORT}"
    assert support_in_letter(None, DEFAULT_LOCAL_SUPPORT) == DEFAULT_LOCAL_SUPPORT
    assert support_in_letter("  ", DEFAULT_LOCAL_SUPPORT) == DEFAULT_LOCAL_SUPPORT
    assert support_in_letter(own, "") == own


def test_the_closure_letter_names_the_support_the_case_recorded() -> None:
    """The letter built from CaseClosed uses the case's own local support and crisis plan,
    not only the organisation-wide text."""
    fields = {
        "case_id": "ref-1",
        "person_id": "person-1",
        "route": "reconnection",
        "reason": "reconnected",
        "closed_at": datetime(2026, 6, 10, tzinfo=UTC).isoformat(),
        "involved_organisations": [],
        "local_support": "Leeds floating support, GP",
        "crisis_support": "call Leeds housing options",
    }
    inp = RoutingInput("CaseClosed", ORG, fields, settings={ORG: OrgSettings(organisation=ORG)})
    letter = PlannedDelivery(Role.CLIENT, "client", None, Channel.LETTER, None, "closure_letter")
    values = personalisation(inp, letter)
    assert values["local_support"].startswith("Leeds floating support, GP")
    assert DEFAULT_LOCAL_SUPPORT in values["local_support"]  # the frame stays
    assert values["crisis_support"].startswith("call Leeds housing options")
    assert DEFAULT_CRISIS_SUPPORT in values["crisis_support"]
