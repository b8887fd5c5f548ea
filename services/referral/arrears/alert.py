"""One arrears alert, as every path (JSON webhook, CSV row, Kafka event) delivers it.

All three paths validate into `ArrearsAlert`, so a field is checked once, the same way, and an
error always names the field (the CSV column of the same name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shared.codes import LegalStage, TenancyEndReason
from shared.ids import stable_id, tenancy_id
from shared.validation import (
    ArrearsBalance,
    LastPaymentDate,
    LegalDate,
    PaymentAmount,
    ReportedOn,
    TenancyEndedOn,
    Text,
    WeeklyRent,
    Weeks,
)

STAGE_RANK = {stage: stage.rank for stage in LegalStage}  # looked up once: on every alert
LEGAL_WINDOW = "within two years past and five years ahead"
END_FIELDS = ("tenancy_ended_on", "tenancy_end_reason")  # both or neither


class Trend(StrEnum):
    WORSENING = "worsening"
    STABLE = "stable"
    IMPROVING = "improving"


# Words housing systems use for the arrears trend, mapped to our three values.
TREND_ALIASES: dict[str, Trend] = {
    "worsening": Trend.WORSENING,
    "increasing": Trend.WORSENING,
    "rising": Trend.WORSENING,
    "up": Trend.WORSENING,
    "stable": Trend.STABLE,
    "steady": Trend.STABLE,
    "flat": Trend.STABLE,
    "unchanged": Trend.STABLE,
    "improving": Trend.IMPROVING,
    "decreasing": Trend.IMPROVING,
    "falling": Trend.IMPROVING,
    "down": Trend.IMPROVING,
}


class ArrearsAlert(BaseModel):
    """An arrears alert from a housing association about one of its tenancies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    tenancy_reference: Text = Field(
        min_length=1, max_length=100, description="the landlord's own tenancy reference"
    )
    arrears_balance: ArrearsBalance = Field(
        description="pounds owed, -£100,000 to £1,000,000; zero or less = arrears cleared"
    )
    weekly_rent: WeeklyRent | None = None
    weeks_in_arrears: Weeks | None = None
    trend: Trend | None = Field(
        None, description="worsening, stable or improving (also increasing/decreasing, …)"
    )
    last_payment_date: LastPaymentDate | None = Field(None, description="within ten years")
    last_payment_amount: PaymentAmount | None = None
    legal_stage: LegalStage = LegalStage.NONE
    notice_served_date: LegalDate | None = Field(None, description=LEGAL_WINDOW)
    court_date: LegalDate | None = Field(None, description=LEGAL_WINDOW)
    possession_order_date: LegalDate | None = Field(None, description=LEGAL_WINDOW)
    eviction_date: LegalDate | None = Field(None, description=LEGAL_WINDOW)
    asb_issues: bool = Field(False, description="anti-social behaviour reported")
    neighbour_issues: bool = Field(False, description="neighbour dispute or complaints")
    reported_on: ReportedOn | None = Field(
        None,
        description="the day the landlord's figures are for (not in the future, within two "
        "years); default: the day received",
    )
    alert_id: Text | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="the sender's id for this alert; default: a fingerprint of its content",
    )
    landlord: Text | None = Field(
        None, max_length=200, description="optional; must be the caller's own organisation"
    )
    # The landlord's notice that the tenancy ended (issue 18: sustainment and turnover).
    tenancy_ended_on: TenancyEndedOn | None = Field(
        None,
        description="the day the tenancy ended (not in the future, not before 1990); "
        "with tenancy_end_reason: both or neither",
    )
    tenancy_end_reason: TenancyEndReason | None = Field(
        None,
        validate_default=True,  # so a date without a reason is refused too
        description="why the tenancy ended; with tenancy_ended_on: both or neither",
    )

    @field_validator("trend", mode="before")
    @classmethod
    def _trend_word(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            if not word:
                return None
            if word not in TREND_ALIASES:
                raise ValueError(f"unknown trend {value!r}; use worsening, stable or improving")
            return TREND_ALIASES[word]
        return value

    @field_validator("tenancy_end_reason")
    @classmethod
    def _both_or_neither(
        cls, reason: TenancyEndReason | None, info: ValidationInfo
    ) -> TenancyEndReason | None:
        """An end is a day and a reason together: half of one is refused, naming what is
        missing (the date is validated first; a date refused on its own is reported there)."""
        if "tenancy_ended_on" not in info.data:
            return reason
        ended_on = info.data["tenancy_ended_on"]
        if reason is not None and ended_on is None:
            raise PydanticCustomError(
                "tenancy_end_incomplete",
                "needs tenancy_ended_on, the day the tenancy ended (both or neither)",
            )
        if reason is None and ended_on is not None:
            raise PydanticCustomError(
                "tenancy_end_incomplete",
                "required with tenancy_ended_on: why the tenancy ended (one of {reasons})",
                {"reasons": ", ".join(r.value for r in TenancyEndReason)},
            )
        return reason

    @property
    def effective_legal_stage(self) -> LegalStage:
        """The furthest legal stage the alert shows, from its stage or from its dates."""
        implied = [self.legal_stage]
        if self.notice_served_date:
            implied.append(LegalStage.NOTICE_SERVED)
        if self.court_date:
            implied.append(LegalStage.COURT_DATE_SET)
        if self.possession_order_date:
            implied.append(LegalStage.POSSESSION_ORDER)
        if self.eviction_date:
            implied.append(LegalStage.EVICTION_DATE_SET)
        return max(implied, key=STAGE_RANK.__getitem__)

    def fingerprint_fields(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude={"alert_id", "landlord"})
        # Absent end fields leave the fingerprint as it was before they existed, so an alert
        # re-sent across the upgrade is still recognised as a repeat.
        for name in END_FIELDS:
            if body[name] is None:
                del body[name]
        return body


@dataclass(frozen=True)
class AlertSubmission:
    """An alert ready for the pipeline: whose it is, which tenancy, and its identity."""

    landlord: str
    tenancy_id: str
    alert_id: str
    alert: ArrearsAlert
    position: int = 0  # index in the request, or CSV line number, for the report
    correlation_id: str | None = None
    causation_id: str | None = None
    # When the landlord sent it (a Kafka event's time): orders a tenancy's alerts so a replayed
    # old one is stale (`decision.Recency`). None: the moment it reached the pipeline.
    sent_at: datetime | None = None


class ForeignTenancy(ValueError):
    """An alert that names a landlord other than the sender; the message names the field."""


def submission_for(
    alert: ArrearsAlert,
    sender: str,
    *,
    key: str,
    position: int = 0,
    alert_id: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    sent_at: datetime | None = None,
) -> AlertSubmission:
    """Bind an alert to its sender, the landlord. A housing association may alert only on its
    own tenancies, so a different `landlord` is refused rather than believed. `key`: the
    tenancy-id key (`HEARTH_TENANCY_ID_KEY`)."""
    if alert.landlord is not None and alert.landlord != sender:
        raise ForeignTenancy(
            f"landlord: {alert.landlord!r} is not your organisation; "
            "alerts may only be sent for your own tenancies"
        )
    identity = alert_id or (
        stable_id("alert-id", sender, alert.alert_id)
        if alert.alert_id
        else content_fingerprint(sender, alert)
    )
    return AlertSubmission(
        landlord=sender,
        tenancy_id=_tenancy_id(sender, alert.tenancy_reference, key),
        alert_id=identity,
        alert=alert,
        position=position,
        correlation_id=correlation_id,
        causation_id=causation_id,
        sent_at=sent_at,
    )


@lru_cache(maxsize=1 << 17)
def _tenancy_id(sender: str, reference: str, key: str) -> str:
    """`shared.ids.tenancy_id`, remembered: a nightly feed names the same tenancies every night,
    and the keyed hash was about a tenth of deciding a repeat (a pure-Python harness). The id
    depends on its arguments alone, so a remembered one is never stale."""
    return tenancy_id(sender, reference, key=key)


def content_fingerprint(landlord: str, alert: ArrearsAlert) -> str:
    """The same figures for the same tenancy give the same id: a re-sent alert is a repeat."""
    body = json.dumps(alert.fingerprint_fields(), sort_keys=True, separators=(",", ":"))
    return stable_id("alert", landlord, alert.tenancy_reference.strip().upper(), body)
