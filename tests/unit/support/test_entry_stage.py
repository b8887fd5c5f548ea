"""The stage a support referral enters at follows its source (staged model, Appendix 1)."""

from __future__ import annotations

from datetime import date

import pytest

from services.referral.entry_stage import entry_stage, in_crisis
from shared.codes import LegalStage, RiskLevel, Route, Stage
from shared.events.referral_intake import ReferralSource, Urgency

CALM = Urgency()


def test_the_supported_housing_panel_places_people_in_stage_2() -> None:
    """Stage 2: "From Stage 1 or via Supported Housing Panel"."""
    source = ReferralSource.SUPPORTED_HOUSING_PANEL
    assert entry_stage(Route.SUPPORT, source, in_crisis(CALM)) is Stage.STAGE_2


def test_a_self_referral_enters_stage_3() -> None:
    """Stage 3: "From Stage 1, Stage 2,  Housing, self referral etc"."""
    source = ReferralSource.SELF_REFERRAL
    assert entry_stage(Route.SUPPORT, source, in_crisis(CALM)) is Stage.STAGE_3


@pytest.mark.parametrize(
    "source",
    [
        ReferralSource.DISTRICT_HOUSING_TEAM,
        ReferralSource.CITIZENS_ADVICE,
        ReferralSource.OTHER,
        ReferralSource.PROBATION,
        ReferralSource.ARREARS_ALERT,
    ],
)
def test_every_other_source_enters_stage_1(source: ReferralSource) -> None:
    """Stage 1: "From District Housing/Supported Housing panel/self referral/CAB /other"."""
    assert entry_stage(Route.SUPPORT, source, False) is Stage.STAGE_1


@pytest.mark.parametrize(
    "urgency",
    [
        Urgency(date_facing_homelessness=date(2026, 2, 20)),
        Urgency(legal_stage=LegalStage.NOTICE_SERVED),
        Urgency(risk_level=RiskLevel.HIGH),
    ],
)
def test_a_referral_in_crisis_starts_in_stage_1_whatever_its_source(urgency: Urgency) -> None:
    """Stage 1 is "Crisis Intervention", and it lists "Supported Housing panel/self referral"
    among its sources: people "experiencing crisis that presents a risk of homelessness"."""
    for source in (ReferralSource.SUPPORTED_HOUSING_PANEL, ReferralSource.SELF_REFERRAL):
        assert entry_stage(Route.SUPPORT, source, in_crisis(urgency)) is Stage.STAGE_1


def test_a_medium_risk_alone_is_not_a_crisis() -> None:
    assert not in_crisis(Urgency(risk_level=RiskLevel.MEDIUM))


def test_only_floating_support_is_staged() -> None:
    source = ReferralSource.SELF_REFERRAL
    assert entry_stage(Route.RECONNECTION, source, False) is Stage.STAGE_1
