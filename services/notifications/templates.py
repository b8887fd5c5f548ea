"""Message templates: defaults here, overridden per organisation (stored by store.py).

Placeholders are written ((name)), as in GOV.UK Notify. A message never goes with an empty
placeholder ("Your referral  has been screened."): `render` refuses one with no value
(`EmptyPlaceholder`, naming it), personalisation gives every value the defaults use a wording
for when the event leaves it out (routing.ABSENT), and a delivery whose organisation's own
version names a value this event does not have is rendered with the default instead, so an
organisation's edit can never stop a message going (handlers.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\(\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\)")
# The landlord's own tenancy reference (tenancy ids are keyed pseudonyms of it): looked up
# only for a template that shows it.
TENANCY_REFERENCE = "tenancy_reference"


@dataclass(frozen=True)
class Template:
    key: str
    subject: str
    body: str
    letter: bool = False  # rendered to PDF (posted, or attached to an email)
    notify_template_id: str | None = None  # the provider's template id for SMS and letters

    @property
    def provider_template_id(self) -> str:
        return self.notify_template_id or f"hearth-{self.key.replace('_', '-')}"


class EmptyPlaceholder(ValueError):
    """A placeholder with no value (unknown, or empty for this event): never sent blank."""

    def __init__(self, name: str) -> None:
        super().__init__(f"template: (({name})) has no value")
        self.name = name


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with every placeholder filled; one without a value raises EmptyPlaceholder."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        if not value.strip():
            raise EmptyPlaceholder(match.group(1))
        return value

    return PLACEHOLDER.sub(fill, text)


def placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def shows(template: Template, name: str) -> bool:
    """Does the template's subject or body use placeholder `name`?"""
    return name in placeholders(f"{template.subject}\n{template.body}")


def _t(key: str, subject: str, body: str, letter: bool = False) -> Template:
    return Template(key=key, subject=subject, body=body, letter=letter)


DEFAULT_TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        _t(
            "referral_acknowledgement",
            "Referral received - ((case_id))",
            "Thank you for your referral (your reference: ((referrer_reference))). It was "
            "received on ((received_on)) and will be screened shortly.\n\n"
            "Hearth case reference: ((case_id)).",
        ),
        _t(
            "referral_status",
            "Referral screened - ((case_id)): ((route))",
            "Your referral (your reference: ((referrer_reference))) has been screened.\n\n"
            "Outcome: ((route))\n"
            "Reasons: ((reasons))\n\nHearth case reference: ((case_id)).",
        ),
        _t(
            "client_introduction",
            "Your support worker from ((organisation))",
            "Hello ((client_name)),\n\nYou now have a support worker from ((organisation)). "
            "They will contact you soon to arrange your first meeting. You can reach them at "
            "((caseworker_email)).\n\nYour reference: ((case_id)).",
        ),
        _t(
            "caseworker_allocation",
            "New case allocated to you - ((case_id))",
            "You are the lead caseworker for case ((case_id)) (client: ((client_name))).\n"
            "Stage: ((stage)), ((target_hours_per_week)) hours a week.\n"
            "Support needs: ((support_needs)).\nTeam leader: ((team_leader_email)).",
        ),
        _t(
            "caseworker_reallocation",
            "Case ((case_id)) is now yours",
            "You are now the lead caseworker for case ((case_id)) (client: ((client_name))), "
            "taken over from ((previous_worker_id)): ((reason)).\n"
            "Team leader: ((team_leader_email)).",
        ),
        _t(
            "team_leader_allocation",
            "Case ((case_id)) allocated",
            "Case ((case_id)) was allocated on ((allocated_on)) to ((caseworker_email)) "
            "(lead worker ((lead_worker_id))), stage ((stage)).",
        ),
        _t(
            "urgent_tenancy_alert",
            "URGENT: tenancy at risk - case ((case_id))",
            "Tenancy ((tenancy_reference)) is at ((risk_level)) risk: ((reasons)).\n"
            "Arrears: ((arrears_balance)); legal stage: ((legal_stage)); eviction date: "
            "((eviction_on)).\n\nSafety net: designate a crisis worker, raise contact "
            "frequency, and speak to the housing officer early about the arrears.",
        ),
        _t(
            "urgent_escalation_alert",
            "URGENT: case ((case_id)) escalated (((risk_level)))",
            "Case ((case_id)) has been escalated to ((risk_level)) risk: ((reasons)).\n"
            "Crisis worker: ((crisis_worker_id)); contact per week: "
            "((contact_frequency_per_week)); plan to leave: ((plan_to_leave)).",
        ),
        _t(
            "housing_officer_alert",
            "Tenancy ((tenancy_reference)): support service alerted",
            "The support service for tenancy ((tenancy_reference)) has been alerted "
            "(((risk_level)) risk). Tenant: ((client_name)).\nThe caseworker, "
            "((caseworker_email)), will contact you to work on the arrears together.",
        ),
        _t(
            "review_reminder",
            "Review coming up - case ((case_id)) on ((due_on))",
            "The ((review_point)) review of case ((case_id)) is due on ((due_on)). "
            "Please book it with the client.",
        ),
        _t(
            "review_due",
            "Review due today - case ((case_id))",
            "The ((review_point)) review of case ((case_id)) is due today (((due_on))).",
        ),
        _t(
            "closure_letter",
            "Your support from ((organisation)) has ended",
            "Dear ((client_name)),\n\nWe are writing to confirm that your support from "
            "((organisation)) ended on ((closed_on)).\n\n"
            "Your support from now on:\n((local_support))\n\n"
            "What to do in a crisis:\n((crisis_support))\n\n"
            "If things start to go wrong with your home, please get in touch early - you can "
            "be referred back at any time.\n\nYour reference: ((case_id))",
            letter=True,
        ),
        _t(
            "agency_closure_notice",
            "Case closed - ((case_id))",
            "Case ((case_id)) held by ((organisation)) was closed on ((closed_on)).\n"
            "Reason: ((reason)); tenancy outcome: ((tenancy_outcome)).\n"
            "Client: ((client_name)).\n\nThank you for your part in this case.",
        ),
    )
}
