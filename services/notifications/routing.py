"""Plans the deliveries one event causes: the rules, resolved against what this service knows
of the case, the person and the organisations. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.notifications.consent import (
    NO_ADDRESS,
    NO_RECIPIENT,
    ChannelDecision,
    ClientContact,
    choose_client_channel,
    consent_refusal,
    personal_details_allowed,
)
from services.notifications.routing_rules import RULES, Role, Rule, rules_for
from shared.agreements import Agreement, DataCategory, Purpose, check
from shared.closure_letter import support_in_letter
from shared.codes import Channel
from shared.consent import Consent

DEFAULT_LOCAL_SUPPORT = (
    "Your local council's housing options team and the support services your caseworker "
    "introduced you to."
)
DEFAULT_CRISIS_SUPPORT = (
    "If your tenancy starts to break down - rent arrears, a letter from your landlord, "
    "problems with neighbours - contact your local council's housing options team straight "
    "away: you can be referred back for support. Shelter's free helpline: 0808 800 4444. "
    "If you are in danger, call 999."
)
WITHHELD = "withheld"
HELD = "held: "  # the prefix of a delivery's reason when an agreement is missing
# A referrer hears that its referral arrived without any agreement; what became of it
# (screened, allocated, closed) only under a live referral-status one.
RECEIPT_ONLY = frozenset({"ReferralReceived"})


@dataclass(frozen=True)
class OrgSettings:
    """One organisation's notification settings (its mailboxes and texts)."""

    organisation: str
    display_name: str | None = None  # how letters are signed; the id when unset
    notice_email: str | None = None
    webhook_url: str | None = None
    housing_officer_email: str | None = None
    local_support: str = DEFAULT_LOCAL_SUPPORT
    crisis_support: str = DEFAULT_CRISIS_SUPPORT


@dataclass(frozen=True)
class CaseFacts:
    """This service's projection of a case: who holds it and who referred it."""

    case_id: str
    organisation: str
    person_id: str | None = None
    lead_worker_email: str | None = None
    team_leader_email: str | None = None
    referrer_organisation: str | None = None
    referrer_email: str | None = None
    tenancy_id: str | None = None


@dataclass(frozen=True)
class RoutingInput:
    event_type: str
    organisation: str  # the envelope's organisation
    fields: dict[str, Any]  # the event data as JSON
    case: CaseFacts | None = None
    client: ClientContact | None = None
    settings: Mapping[str, OrgSettings] = field(default_factory=dict)
    # The case organisation's data-sharing agreements and the moment they are checked at;
    # None: not read yet, so every notice to another organisation is held (the handler reads
    # them when `needs_agreements` says the plan reaches one, and plans again).
    agreements: tuple[Agreement, ...] | None = None
    at: datetime | None = None
    # The case's consent (issue 16), read with the person's contact; None: none recorded.
    consent: Consent | None = None

    @property
    def case_org(self) -> str:
        return self.case.organisation if self.case else self.organisation

    def org_settings(self, organisation: str | None) -> OrgSettings:
        if not organisation:
            return OrgSettings(organisation="")
        return self.settings.get(organisation) or OrgSettings(organisation=organisation)


@dataclass(frozen=True)
class PlannedDelivery:
    recipient_role: Role
    recipient_key: str  # the role, or agency:<org>: one delivery per (event, key, channel)
    recipient_org: str | None
    channel: Channel | None
    address: str | None
    template: str
    urgent: bool = False
    personal: bool = False  # may personal details of the client go in?
    suppressed_reason: str | None = None


@dataclass(frozen=True)
class _Target:
    key: str
    organisation: str | None
    addresses: dict[Channel, str | None]
    refused: str | None = None  # a sharing rule excludes this recipient


def landlord_of(inp: RoutingInput) -> str | None:
    if inp.fields.get("landlord"):
        return str(inp.fields["landlord"])
    tenancy = inp.fields.get("tenancy_id") or (inp.case.tenancy_id if inp.case else None)
    # Tenancy ids are "<landlord organisation>:t-<keyed digest>" (shared.ids.tenancy_id).
    return str(tenancy).split(":", 1)[0] if tenancy and ":" in str(tenancy) else None


def _targets(rule: Rule, inp: RoutingInput) -> list[_Target]:
    case = inp.case
    role = rule.recipient
    if role is Role.CASEWORKER:
        email = case.lead_worker_email if case else None
        return [_Target(role, inp.case_org, {Channel.EMAIL: email})]
    if role is Role.TEAM_LEADER:
        email = case.team_leader_email if case else None
        return [_Target(role, inp.case_org, {Channel.EMAIL: email})]
    if role is Role.REFERRER:
        referrer = inp.fields.get("referrer") or {}
        org = referrer.get("organisation") or (case.referrer_organisation if case else None)
        settings = inp.org_settings(org)
        email = referrer.get("email") or (case.referrer_email if case else None)
        addresses = {
            Channel.EMAIL: email or settings.notice_email,
            Channel.WEBHOOK: settings.webhook_url,
        }
        return [_Target(role, org, addresses)]
    if role is Role.HOUSING_OFFICER:
        landlord = landlord_of(inp)
        if landlord is None:
            return []
        # Another organisation's housing officer hears only under a live partner-notices
        # agreement (`agreement_refusal`), the one place such sharing is decided.
        settings = inp.org_settings(landlord)
        addresses = {
            Channel.EMAIL: settings.housing_officer_email,
            Channel.WEBHOOK: settings.webhook_url,
        }
        return [_Target(role, landlord, addresses)]
    if role is Role.AGENCY:
        referrer_org = (inp.fields.get("referrer") or {}).get("organisation") or (
            case.referrer_organisation if case else None
        )
        orgs = [
            org
            for org in dict.fromkeys(inp.fields.get("involved_organisations") or [])
            if org not in (inp.case_org, referrer_org)
        ]
        targets = []
        for org in orgs:
            settings = inp.org_settings(org)
            addresses = {
                Channel.EMAIL: settings.notice_email,
                Channel.WEBHOOK: settings.webhook_url,
            }
            targets.append(_Target(f"{role}:{org}", org, addresses))
        return targets
    return []


def agreement_refusal(rule: Rule, inp: RoutingInput, recipient_org: str | None) -> str | None:
    """Why a notice to another organisation may not go now (None: it may): a referrer's
    status needs a live referral-status agreement, any other partner's notice a live
    partner-notices one. Inside the case's organisation nothing is needed."""
    if recipient_org is None or recipient_org == inp.case_org:
        return None
    if rule.recipient is Role.REFERRER and inp.event_type in RECEIPT_ONLY:
        return None
    if inp.agreements is None or inp.at is None:
        return f"{HELD}agreements not read"  # fail closed; the handler reads them, plans again
    referrer = rule.recipient is Role.REFERRER
    purpose = Purpose.REFERRAL_STATUS if referrer else Purpose.PARTNER_NOTICES
    decision = check(
        inp.agreements,
        from_organisation=inp.case_org,
        to_organisation=recipient_org,
        purpose=purpose,
        categories=(DataCategory.CASE_STATUS,),
        at=inp.at,
    )
    return None if decision else f"{HELD}{decision.reason}"


def _consent_refusal(rule: Rule, inp: RoutingInput, recipient_org: str | None) -> str | None:
    if inp.consent is None or inp.at is None:
        return None
    return consent_refusal(
        inp.consent,
        recipient_role=rule.recipient.value,
        recipient_org=recipient_org,
        case_org=inp.case_org,
        receipt=inp.event_type in RECEIPT_ONLY,
        at=inp.at,
    )


def needs_agreements(planned: list[PlannedDelivery], case_org: str) -> bool:
    """Does this plan reach beyond the case's organisation (so agreements must be read)?"""
    return any(p.recipient_org not in (None, case_org) for p in planned)


def _plan_rule(rule: Rule, inp: RoutingInput) -> list[PlannedDelivery]:
    base = {"recipient_role": rule.recipient, "template": rule.template, "urgent": rule.urgent}
    if rule.recipient is Role.CLIENT:
        held = _consent_refusal(rule, inp, None)
        decision = choose_client_channel(inp.client, rule.channels)
        if held:
            decision = ChannelDecision(None, reason=held)
        return [
            PlannedDelivery(
                recipient_key=Role.CLIENT,
                recipient_org=None,
                channel=decision.channel,
                address=decision.address,
                personal=True,
                suppressed_reason=decision.reason,
                **base,
            )
        ]
    planned: list[PlannedDelivery] = []
    share_with = inp.client.share_with if inp.client else ()
    for target in _targets(rule, inp):
        personal = personal_details_allowed(target.organisation, inp.case_org, share_with)
        common = {
            **base,
            "recipient_key": target.key,
            "recipient_org": target.organisation,
            "personal": personal,
        }
        refused = (
            target.refused
            or agreement_refusal(rule, inp, target.organisation)
            or _consent_refusal(rule, inp, target.organisation)
        )
        if refused:
            planned.append(
                PlannedDelivery(channel=None, address=None, suppressed_reason=refused, **common)
            )
            continue
        reachable = [(c, target.addresses.get(c)) for c in rule.channels if target.addresses.get(c)]
        if rule.deliver == "first":
            reachable = reachable[:1]
        if not reachable:
            known = any(target.addresses.values()) or target.organisation is not None
            reason = NO_ADDRESS if known or rule.recipient is Role.AGENCY else NO_RECIPIENT
            if rule.recipient in (Role.CASEWORKER, Role.TEAM_LEADER) and inp.case is None:
                reason = NO_RECIPIENT
            planned.append(
                PlannedDelivery(channel=None, address=None, suppressed_reason=reason, **common)
            )
            continue
        for channel, address in reachable:
            planned.append(PlannedDelivery(channel=channel, address=address, **common))
    return planned


def plan(inp: RoutingInput, rules: tuple[Rule, ...] = RULES) -> list[PlannedDelivery]:
    """Every delivery (or recorded suppression) this event causes."""
    if inp.event_type == "TenancyAtRisk" and inp.case is None:
        return []  # no open case: referral raises a prevention referral, which is routed itself
    planned: list[PlannedDelivery] = []
    for rule in rules_for(inp.event_type, inp.fields, rules):
        planned.extend(_plan_rule(rule, inp))
    return planned


def needs_client_contact(planned: list[PlannedDelivery], case_org: str) -> bool:
    """Does this plan write to the person, or to another organisation (whose right to see
    personal details depends on the person's consent)?"""
    return any(
        p.recipient_role is Role.CLIENT
        or (p.suppressed_reason is None and p.recipient_org not in (None, case_org))
        for p in planned
    )


# --- personalisation -----------------------------------------------------------------------


def _text(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if ("balance" in key or "rent" in key) else f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_text(v, key) for v in value)
    return str(value).replace("_", " ") if key in _CODE_FIELDS else str(value)


_CODE_FIELDS = {"route", "reason", "tenancy_outcome", "legal_stage", "risk_level", "stage"}

# What a message says where the event (or what this service knows of the case) leaves a value
# out: the default templates never show an empty placeholder (templates.render refuses one).
ABSENT: dict[str, str] = {
    "referrer_reference": "none given",
    "reasons": "none recorded",
    "support_needs": "none recorded",
    "eviction_on": "none set",
    "crisis_worker_id": "not designated",
    "contact_frequency_per_week": "unchanged",
    "caseworker_email": "not known yet",
    "team_leader_email": "not known yet",
    "previous_worker_id": "another caseworker",
}


def _day(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10]).strftime("%d %B %Y")
        except ValueError:
            return value
    if isinstance(value, datetime | date):
        return value.strftime("%d %B %Y")
    return ""


def _own(fields: Mapping[str, Any], name: str) -> str | None:
    """A case's own text an event carries (CaseClosed's closure letter), if any."""
    value = fields.get(name)
    return value if isinstance(value, str) else None


def personalisation(inp: RoutingInput, delivery: PlannedDelivery) -> dict[str, str]:
    """Placeholder values for one recipient; personal details only where sharing allows."""
    values: dict[str, str] = {}
    for key, value in inp.fields.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                values[f"{key}_{inner}"] = _text(inner_value, inner)
        else:
            values[key] = _text(value, key)
    case = inp.case
    settings = inp.org_settings(inp.case_org)
    values.update(
        {
            "event_type": inp.event_type,
            "organisation": inp.case_org,
            "case_id": str(inp.fields.get("case_id") or (case.case_id if case else "")),
            "caseworker_email": (case.lead_worker_email if case else None) or "",
            "team_leader_email": (case.team_leader_email if case else None) or "",
            # Tool 4, step 7: the case's own support, the organisation's text as the frame.
            "local_support": support_in_letter(
                _own(inp.fields, "local_support"), settings.local_support
            ),
            "crisis_support": support_in_letter(
                _own(inp.fields, "crisis_support"), settings.crisis_support
            ),
        }
    )
    for field_name in ("received_at", "allocated_at", "closed_at", "due_on", "eviction_date"):
        if inp.fields.get(field_name):
            values[field_name.replace("_at", "_on")] = _day(inp.fields[field_name])
    if not values.get("tenancy_id") and case and case.tenancy_id:
        values["tenancy_id"] = case.tenancy_id
    client = inp.client
    if delivery.personal and client is not None:
        values["client_name"] = client.display_name
    else:
        values["client_name"] = WITHHELD
    if delivery.recipient_role is Role.CLIENT and client is not None:
        for index, line in enumerate(client.postal_address[:7], start=1):
            values[f"address_line_{index}"] = line
    for key, wording in ABSENT.items():
        if not values.get(key, "").strip():
            values[key] = wording
    return values
