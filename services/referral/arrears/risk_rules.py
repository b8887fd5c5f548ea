"""Per-organisation risk rules: an arrears alert in, a risk level and its reasons out. Pure.

Defaults, from the seeds and the law they work under:
- Any arrears at all is `low`: recorded, not yet signalled (housing associations that "contact
  us first" instead of sending letters want the early picture, not an alarm per pound).
- 4+ weeks in arrears, or 4+ weeks' rent owed, or £500+ owed -> `medium`.
- 8+ weeks (the two months of rent at which possession on arrears becomes mandatory, Housing
  Act 1988 ground 8), or £1,500+ owed (the sum Derby Homes' team turned round) -> `high`.
- No payment for 4+ weeks -> at least `medium`.
- A worsening trend raises the level by one (never beyond `high` on its own).
- Legal stage: notice served or a court date -> `high`; a possession order or an eviction date
  -> `critical` ("if the tenancy is breaking down there needs to be crisis intervention").
- Anti-social behaviour or neighbour issues -> at least `medium` (the safety net's advocacy
  "in issues with neighbours or behaviour").
- `medium` and above raise TenancyAtRisk (`signal_from`); a prevention referral goes to
  `prevention_organisation` (default: the landlord itself) when no case is open or pending.
No arrears (balance zero or in credit), no legal action and no ASB is no risk: it ends the
tenancy's episode, so a later rise signals again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.referral.arrears.alert import ArrearsAlert, Trend
from shared.codes import LegalStage, RiskLevel


class RiskRules(BaseModel):
    """One organisation's thresholds. Every field has a default; PUT replaces the whole set."""

    model_config = ConfigDict(extra="forbid")

    signal_from: RiskLevel = Field(
        RiskLevel.MEDIUM, description="lowest level that raises TenancyAtRisk"
    )
    refer_from: RiskLevel = Field(
        RiskLevel.MEDIUM,
        description="lowest signalled level that raises a prevention referral (no open case)",
    )
    weeks_medium: float = Field(4, gt=0, le=520, description="weeks in arrears -> medium")
    weeks_high: float = Field(8, gt=0, le=520, description="weeks in arrears -> high")
    weeks_critical: float | None = Field(
        None, gt=0, le=520, description="weeks in arrears -> critical (off by default)"
    )
    balance_medium: float | None = Field(500, gt=0, description="pounds owed -> medium")
    balance_high: float | None = Field(1500, gt=0, description="pounds owed -> high")
    no_payment_weeks: float | None = Field(
        4, gt=0, le=520, description="no payment for this many weeks -> at least medium"
    )
    worsening_trend_raises: bool = Field(True, description="a worsening trend adds one level")
    trend_cap: RiskLevel = Field(RiskLevel.HIGH, description="the trend never raises beyond")
    notice_served_level: RiskLevel = RiskLevel.HIGH
    court_date_level: RiskLevel = RiskLevel.HIGH
    possession_order_level: RiskLevel = RiskLevel.CRITICAL
    eviction_date_level: RiskLevel = RiskLevel.CRITICAL
    asb_level: RiskLevel = RiskLevel.MEDIUM
    neighbour_level: RiskLevel = RiskLevel.MEDIUM
    prevention_organisation: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="organisation that receives prevention referrals; default the landlord",
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> RiskRules:
        if self.weeks_high < self.weeks_medium:
            raise ValueError("weeks_high: must not be below weeks_medium")
        if self.weeks_critical is not None and self.weeks_critical < self.weeks_high:
            raise ValueError("weeks_critical: must not be below weeks_high")
        if (
            self.balance_medium is not None
            and self.balance_high is not None
            and self.balance_high < self.balance_medium
        ):
            raise ValueError("balance_high: must not be below balance_medium")
        if self.refer_from.rank < self.signal_from.rank:
            raise ValueError("refer_from: must not be below signal_from")
        return self

    def referral_organisation(self, landlord: str) -> str:
        return self.prevention_organisation or landlord


DEFAULT_RULES = RiskRules()
# `RiskLevel.rank` looked up once: assessing is on every alert's path, repeats included.
LEVEL_RANK = {level: level.rank for level in RiskLevel}

_LEGAL_LEVEL_FIELD = {
    LegalStage.NOTICE_SERVED: "notice_served_level",
    LegalStage.COURT_DATE_SET: "court_date_level",
    LegalStage.POSSESSION_ORDER: "possession_order_level",
    LegalStage.EVICTION_DATE_SET: "eviction_date_level",
}


@dataclass(frozen=True)
class Assessment:
    """`level` None means no risk at all: the arrears are cleared and nothing else is wrong."""

    level: RiskLevel | None
    reasons: tuple[str, ...]

    @property
    def cleared(self) -> bool:
        return self.level is None


def _highest(levels: list[RiskLevel]) -> RiskLevel | None:
    return max(levels, key=LEVEL_RANK.__getitem__) if levels else None


def _raise_one(level: RiskLevel, cap: RiskLevel) -> RiskLevel:
    if LEVEL_RANK[level] >= LEVEL_RANK[cap]:
        return level
    return list(RiskLevel)[LEVEL_RANK[level] + 1]


def assess(alert: ArrearsAlert, rules: RiskRules, today: date) -> Assessment:
    """Decide the risk level and say why. `today` is the day the figures are for."""
    as_of = alert.reported_on or today
    found: list[tuple[RiskLevel, str]] = []
    balance = alert.arrears_balance
    in_arrears = balance > 0

    if in_arrears:
        found.append((RiskLevel.LOW, f"arrears: £{balance:,.2f} owed"))
        weeks = alert.weeks_in_arrears
        if weeks is not None:
            level = _weeks_level(weeks, rules)
            if level is not None:
                found.append((level, f"weeks_in_arrears: {weeks:g} weeks in arrears"))
        if alert.weekly_rent:
            owed = balance / alert.weekly_rent
            level = _weeks_level(owed, rules)
            if level is not None:
                found.append((level, f"balance_vs_rent: £{balance:,.2f} is {owed:.1f} weeks' rent"))
        level = _balance_level(balance, rules)
        if level is not None:
            found.append((level, f"balance: £{balance:,.2f} owed"))
        if rules.no_payment_weeks is not None and alert.last_payment_date is not None:
            weeks_since = (as_of - alert.last_payment_date).days / 7
            if weeks_since >= rules.no_payment_weeks:
                found.append(
                    (
                        RiskLevel.MEDIUM,
                        f"last_payment_date: no payment for {int(weeks_since)} weeks",
                    )
                )

    stage = alert.effective_legal_stage
    if stage != LegalStage.NONE:
        level = getattr(rules, _LEGAL_LEVEL_FIELD[stage])
        found.append((level, f"legal_stage: {_legal_text(stage, alert)}"))
    if alert.asb_issues:
        found.append((rules.asb_level, "asb_issues: anti-social behaviour reported"))
    if alert.neighbour_issues:
        found.append((rules.neighbour_level, "neighbour_issues: neighbour issues reported"))

    level = _highest([lvl for lvl, _ in found])
    if level is None:
        return Assessment(None, ("arrears: cleared",))
    # Reasons that decide the level first, then the rest, most serious first.
    ordered = sorted(found, key=lambda item: -LEVEL_RANK[item[0]])
    reasons = [text for _, text in ordered]
    if rules.worsening_trend_raises and alert.trend == Trend.WORSENING and in_arrears:
        raised = _raise_one(level, rules.trend_cap)
        if raised != level:
            level = raised
            reasons.insert(0, f"trend: arrears worsening (raised to {raised.value})")
        else:
            reasons.append("trend: arrears worsening")
    return Assessment(level, tuple(reasons))


def _weeks_level(weeks: float, rules: RiskRules) -> RiskLevel | None:
    if rules.weeks_critical is not None and weeks >= rules.weeks_critical:
        return RiskLevel.CRITICAL
    if weeks >= rules.weeks_high:
        return RiskLevel.HIGH
    if weeks >= rules.weeks_medium:
        return RiskLevel.MEDIUM
    return None


def _balance_level(balance: float, rules: RiskRules) -> RiskLevel | None:
    if rules.balance_high is not None and balance >= rules.balance_high:
        return RiskLevel.HIGH
    if rules.balance_medium is not None and balance >= rules.balance_medium:
        return RiskLevel.MEDIUM
    return None


def _legal_text(stage: LegalStage, alert: ArrearsAlert) -> str:
    dated = {
        LegalStage.NOTICE_SERVED: ("notice served", alert.notice_served_date),
        LegalStage.COURT_DATE_SET: ("court date", alert.court_date),
        LegalStage.POSSESSION_ORDER: ("possession order", alert.possession_order_date),
        LegalStage.EVICTION_DATE_SET: ("eviction date", alert.eviction_date),
    }
    label, when = dated[stage]
    return f"{label} {when.isoformat()}" if when else label
