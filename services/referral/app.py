"""The referral service: intake from every source, screening, same-person recognition and
referral status (this part), plus arrears alerts turned into TenancyAtRisk (`arrears/`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.referral import arrears, privacy
from services.referral.api import referrals_router
from services.referral.consent_api import consent_router
from services.referral.consent_records import ConsentRecords
from services.referral.handlers import register_handlers
from services.referral.held_flows import HeldFlows
from services.referral.held_flows_api import held_flows_router
from services.referral.intake import ReferralIntake
from services.referral.people_api import people_router
from services.referral.referral import REFERRED_BY
from services.referral.store import ReferralStore
from shared.agreement_book import AgreementBook
from shared.clock import Clock
from shared.events.base import EventData
from shared.events.consent_events import ConsentChanged
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed
from shared.events.referral_events import (
    ContactDetailsShared,
    ReferralAssessed,
    ReferralReceived,
    TenancyReferenceShared,
)
from shared.http import create_http_app
from shared.record_scopes import scope_lookup
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic

INTAKE_EMITS: tuple[type[EventData], ...] = (
    ReferralReceived,
    ReferralAssessed,
    ContactDetailsShared,
    ConsentChanged,
    TenancyReferenceShared,
)
EMITS: tuple[type[EventData], ...] = (
    *INTAKE_EMITS,
    *(e for e in arrears.EMITS if e not in INTAKE_EMITS),
    SubjectDataContributed,
    ErasureCarriedOut,
)


class ReferralRuntime(ServiceRuntime):
    """The shared runtime plus the routers its parts contribute."""

    routers: list[APIRouter]


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> ReferralRuntime:
    runtime = ReferralRuntime(settings, clock)
    store = ReferralStore(runtime)
    # Person matching across organisations is checked against this service's own copy.
    agreements = AgreementBook(runtime.collection("agreements"))
    consents = ConsentRecords(runtime, runtime.clock)  # each case's consent (issue 16)
    intake = ReferralIntake(
        store, runtime.relay, runtime.clock, settings.person_match_keys, agreements, consents,
        tenancy_key=settings.tenancy_id_key.get_secret_value(),
    )  # fmt: skip
    runtime.on_startup(intake.require_keys)  # no key: a startup error naming the setting
    consumer = runtime.consumer([Topic.REFERRAL_INTAKE, Topic.CASE_EVENTS, Topic.AGREEMENTS])
    register_handlers(consumer, store, intake, runtime.relay)
    agreements.follow(consumer)
    runtime.record_scopes["case"] = scope_lookup(store.referrals, made_by=REFERRED_BY)
    runtime.routers = [referrals_router(store, intake)]
    runtime.routers.append(consent_router(store, consents, runtime.clock))
    runtime.routers.append(people_router(store, runtime.clock))  # search, matches
    # One agreement book and one store of held flows for the whole service (issue 15).
    held = HeldFlows(runtime)
    runtime.routers.append(held_flows_router(held))
    privacy.install(runtime, store, held)  # subject access and erasure (issue 16)
    # Its own collections, group and routes.
    runtime.routers.append(arrears.install(runtime, agreements, held))
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    return create_http_app(
        runtime,
        title="Hearth referral service",
        description=(
            "Referrals from every source (HTTP and the referral.intake topic), screened to a "
            "route with reasons; referral status for the referrer; arrears alerts."
        ),
        routers=runtime.routers,
        manage_runtime=manage_runtime,
    )
