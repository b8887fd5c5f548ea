"""The stage of the staged floating-support model a support referral enters at (pure).

The model's "Housing related support need identified" column names where each stage's people
come from (Appendix 1):

- Stage 1: "From District Housing/Supported Housing panel/self referral/CAB /other"
- Stage 2: "From Stage 1 or via Supported Housing Panel"
- Stage 3: "From Stage 1, Stage 2,  Housing, self referral etc"

So Stage 1 is open to every source, and two sources have a route of their own: the Supported
Housing Panel places people straight into Stage 2, a self-referral into Stage 3's low-level
support. Stage 1 is "Crisis Intervention" for people "experiencing crisis that presents a risk of
homelessness", so a referral in crisis starts there whatever its source.
"""

from __future__ import annotations

from typing import Final

from shared.codes import LegalStage, RiskLevel, Route, Stage
from shared.events.referral_intake import ReferralSource, Urgency

# The sources whose own route enters past Stage 1.
SOURCE_ROUTES: Final[dict[ReferralSource, Stage]] = {
    ReferralSource.SUPPORTED_HOUSING_PANEL: Stage.STAGE_2,  # "via Supported Housing Panel"
    ReferralSource.SELF_REFERRAL: Stage.STAGE_3,  # "Housing, self referral etc"
}
CRISIS_RISK: Final = frozenset({RiskLevel.HIGH, RiskLevel.CRITICAL})


def in_crisis(urgency: Urgency) -> bool:
    """A risk of homelessness stated on the referral: a date, legal action or high risk."""
    return (
        urgency.date_facing_homelessness is not None
        or urgency.legal_stage is not LegalStage.NONE
        or urgency.risk_level in CRISIS_RISK
    )


def entry_stage(route: Route, source: ReferralSource, crisis: bool) -> Stage:
    """Stage 1 for a referral in crisis; else the source's own route, else Stage 1. Only
    floating support is staged: every other route keeps the default, Stage 1."""
    if route is not Route.SUPPORT or crisis:
        return Stage.STAGE_1
    return SOURCE_ROUTES.get(source, Stage.STAGE_1)
