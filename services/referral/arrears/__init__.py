"""Arrears alerts from housing associations, turned into TenancyAtRisk and prevention referrals,
and what the landlord's feed tells outcomes (TenancyArrearsReported, TenancyEnded).

`install(runtime)` wires this part into the referral service's runtime: its collections, its
consumer group (`referral-arrears`) and its HTTP routes (returned; the app mounts them at /v1).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.referral.arrears.api import build_router
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.handlers import register_handlers
from services.referral.arrears.pipeline import AlertPipeline
from services.referral.arrears.release import HeldFlowRelease
from services.referral.arrears.store import ArrearsStore
from services.referral.arrears.uploads import UploadJobs
from services.referral.held_flows import CaseConsents, HeldFlows
from services.referral.tenancy_references import require_key
from shared.agreement_book import AgreementBook
from shared.events.base import EventData
from shared.events.referral_events import (
    TenancyArrearsReported,
    TenancyAtRisk,
    TenancyEnded,
    TenancyReferenceShared,
)
from shared.events.referral_intake import ReferralSubmitted
from shared.runtime import ServiceRuntime
from shared.topics import Topic

CONSUMER_GROUP = "referral-arrears"
AGREEMENTS = "agreements"  # the service's own copy of the data-sharing agreements
# What this part publishes, for the service's EMITS (AsyncAPI).
EMITS: tuple[type[EventData], ...] = (
    TenancyAtRisk,
    TenancyArrearsReported,
    TenancyEnded,
    ReferralSubmitted,
    TenancyReferenceShared,
)


def install(
    runtime: ServiceRuntime,
    book: AgreementBook | None = None,
    held: HeldFlows | None = None,
) -> APIRouter:
    """`book` and `held`: the referral service's one agreement book and held-flows store (made
    here when this part runs alone, as in its tests)."""
    book = book or AgreementBook(runtime.collection(AGREEMENTS))
    held = held or HeldFlows(runtime)
    store = ArrearsStore(runtime)
    consents = CaseConsents(runtime.db)  # read only: the intake part writes them
    pipeline = AlertPipeline(store, runtime.relay, runtime.clock, book, held, consents)
    batcher = AlertBatcher(pipeline)  # gathers concurrent single webhooks into batches
    release = HeldFlowRelease(store, held, book, runtime.relay, runtime.clock, consents)
    # The landlords' feed: all of it runs in the service's bulk process (docs/LANES.md).
    consumer = runtime.consumer(
        [Topic.ARREARS_ALERTS, Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS, Topic.AGREEMENTS],
        group=CONSUMER_GROUP,
        bulk_source=True,
    )
    # Tenancy ids are keyed (shared/ids.py): no key, no start, naming HEARTH_TENANCY_ID_KEY.
    tenancy_key = runtime.settings.tenancy_id_key.get_secret_value()
    runtime.on_startup(require_key(tenancy_key))
    register_handlers(consumer, store, pipeline, book, release, tenancy_key=tenancy_key)
    uploads = UploadJobs(runtime, pipeline, runtime.clock)  # CSV files, decided in the background
    return build_router(store, pipeline, batcher, runtime.clock, uploads, tenancy_key=tenancy_key)
