"""Referral submissions for tests, as the JSON a referrer sends."""

from __future__ import annotations

from typing import Any

from shared.events.referral_intake import ReferralSubmission


def referral_json(**overrides: Any) -> dict[str, Any]:
    """A complete outreach referral that screens to support unless overridden."""
    body: dict[str, Any] = {
        "source": "outreach_team",
        # The referrer's organisation is the caller's (filled in); the outreach worker is a
        # named contact of another agency.
        "referrer": {
            "agency": "st-mungos-outreach",
            "source": "outreach_team",
            "name": "Sam Worker",
            "email": "sam.worker@example.org",
        },
        "person": {
            "given_name": "Alex",
            "family_name": "Morgan",
            "date_of_birth": "1984-03-02",
            "ni_number": "QQ 12 34 56 C",
            "household": [],
        },
        "contact": {
            "mobile": "07700900123",
            "email": "alex@example.org",
            "postal_address": ["1 High Street", "Derby", "DE1 1AA"],
            "preferred_channels": ["sms", "letter"],
        },
        "consent": {
            "to_record": True,
            "to_share": True,
            "share_with": ["derby-homes"],
            "channels_allowed": ["sms", "letter"],
        },
        "support_needs": ["mental_health", "budgeting_debt"],
        "urgency": {"date_facing_homelessness": "2026-02-20", "legal_stage": "notice_served"},
        "referring_area": "Derby",
        "recourse_to_public_funds": True,
        "id_held": ["passport"],
    }
    body.update(overrides)
    return body


def submission(**overrides: Any) -> ReferralSubmission:
    return ReferralSubmission.model_validate(referral_json(**overrides))


def reconnection_json(**overrides: Any) -> dict[str, Any]:
    """Meets all three Safe Connections criteria (referred in Hackney, connection in Leeds)."""
    return referral_json(
        **{
            "referring_area": "Hackney",
            "local_connections": [{"area": "Leeds", "evidence": ["lived 6 of the last 12 months"]}],
            "rough_sleeping": {
                "contacts": 9,
                "period_start": "2025-12-01",
                "period_end": "2026-01-02",
            },
            "support_needs": ["alcohol_dependency", "mental_health"],
            **overrides,
        }
    )
