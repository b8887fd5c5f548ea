"""The events an alert emits: on a rise in risk, TenancyAtRisk and the automatic prevention
referral; from the landlord's feed, TenancyArrearsReported and TenancyEnded (`tenancy_feed`).

Their ids derive from their cause: (tenancy, episode, level) for a rise, (tenancy, alert) for
reported figures, (tenancy, end day) for an end. Deciding the same alert twice, after a crash or
a lost race, yields the same events, which downstream inboxes drop.

All of them travel the bulk lane (`shared.lanes`): a landlord's feed is bulk work, and what
services do in response follows it there, so a caseworker's referral never waits behind it.
"""

from __future__ import annotations

from datetime import datetime

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.decision import Signal
from services.referral.arrears.risk_rules import RiskRules
from services.referral.arrears.tenancy_feed import FeedNews
from shared.codes import SupportNeed
from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import (
    Referrer,
    TenancyArrearsReported,
    TenancyAtRisk,
    TenancyEnded,
)
from shared.events.referral_intake import (
    ReferralSource,
    ReferralSubmission,
    ReferralSubmitted,
    TenancyDetails,
    Urgency,
)
from shared.ids import stable_id
from shared.lanes import Lane

SOURCE = "referral/arrears"


def tenancy_at_risk(sub: AlertSubmission, signal: Signal, now: datetime) -> Envelope:
    alert = sub.alert
    data = TenancyAtRisk(
        tenancy_id=sub.tenancy_id,
        landlord=sub.landlord,
        alert_id=sub.alert_id,
        risk_level=signal.level,
        reasons=list(signal.reasons),
        arrears_balance=alert.arrears_balance,
        weekly_rent=alert.weekly_rent,
        weeks_in_arrears=alert.weeks_in_arrears,
        legal_stage=alert.effective_legal_stage,
        eviction_date=alert.eviction_date,
        case_id=signal.case_id,
        prevention_case_id=signal.prevention_referral_id,
    )
    return make_event(
        data,
        source=SOURCE,
        organisation=sub.landlord,
        correlation_id=sub.correlation_id or sub.alert_id,
        causation_id=sub.causation_id,
        event_id=stable_id(
            "TenancyAtRisk", sub.tenancy_id, str(signal.episode), signal.level.value
        ),
        time=now,
        lane=Lane.BULK,
    )


def prevention_referral(
    sub: AlertSubmission, signal: Signal, rules: RiskRules, now: datetime
) -> Envelope:
    """A minimal automatic referral: no person details, the tenancy and the urgency only."""
    assert signal.prevention_referral_id is not None
    alert = sub.alert
    submission = ReferralSubmission(
        source=ReferralSource.ARREARS_ALERT,
        automatic=True,
        referrer=Referrer(
            organisation=sub.landlord,
            # No reference: the referrer's travels on referral.events, which is never purged,
            # and the tenancy reference is personal data (the tenancy below stays on intake).
            source=ReferralSource.ARREARS_ALERT.value,
        ),
        tenancy=TenancyDetails(
            landlord_organisation=sub.landlord, tenancy_reference=alert.tenancy_reference
        ),
        support_needs=[SupportNeed.BUDGETING_DEBT],
        urgency=Urgency(
            date_facing_homelessness=alert.eviction_date,
            legal_stage=alert.effective_legal_stage,
            risk_level=signal.level,
            notes="; ".join(signal.reasons)[:2000],
        ),
    )
    data = ReferralSubmitted(referral_id=signal.prevention_referral_id, submission=submission)
    return make_event(
        data,
        source=SOURCE,
        organisation=rules.referral_organisation(sub.landlord),
        correlation_id=sub.correlation_id or sub.alert_id,
        causation_id=sub.causation_id,
        event_id=stable_id("ReferralSubmitted", signal.prevention_referral_id),
        time=now,
        lane=Lane.BULK,
    )


def feed_events(sub: AlertSubmission, news: FeedNews, now: datetime) -> list[Envelope]:
    """What the landlord's feed told that outcomes needs: the figures, then the end."""
    events: list[Envelope] = []
    case_ids = list(news.case_ids)
    if news.reported is not None:
        figures = news.reported
        reported = TenancyArrearsReported(
            tenancy_id=sub.tenancy_id,
            landlord=sub.landlord,
            alert_id=sub.alert_id,
            reported_on=sub.alert.reported_on or now.date(),
            arrears_balance=figures.arrears_balance,
            weekly_rent=figures.weekly_rent,
            legal_stage=figures.legal_stage,
            case_ids=case_ids,
        )
        event_id = stable_id("TenancyArrearsReported", sub.tenancy_id, sub.alert_id)
        events.append(_landlords(reported, sub, event_id, now))
    if news.ended is not None:
        ended = TenancyEnded(
            tenancy_id=sub.tenancy_id,
            landlord=sub.landlord,
            alert_id=sub.alert_id,
            ended_on=news.ended.ended_on,
            reason=news.ended.reason,
            case_ids=case_ids,
        )
        event_id = stable_id("TenancyEnded", sub.tenancy_id, news.ended.ended_on.isoformat())
        events.append(_landlords(ended, sub, event_id, now))
    return events


def _landlords(
    data: TenancyArrearsReported | TenancyEnded, sub: AlertSubmission, event_id: str, now: datetime
) -> Envelope:
    """An event of the landlord's, in the alert's correlation, as TenancyAtRisk is."""
    return make_event(
        data,
        source=SOURCE,
        organisation=sub.landlord,
        correlation_id=sub.correlation_id or sub.alert_id,
        causation_id=sub.causation_id,
        event_id=event_id,
        time=now,
        lane=Lane.BULK,
    )
