"""Arrears alerts from housing associations, turned into TenancyAtRisk and prevention referrals.

`install(runtime)` wires this part into the referral service's runtime: its collections, its
consumer group (`referral-arrears`) and its HTTP routes (returned; the app mounts them at /v1).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.referral.arrears.api import build_router
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.handlers import register_handlers
from services.referral.arrears.pipeline import AlertPipeline
from services.referral.arrears.store import ArrearsStore
from shared.events.base import EventData
from shared.events.referral_events import TenancyAtRisk
from shared.events.referral_intake import ReferralSubmitted
from shared.runtime import ServiceRuntime
from shared.topics import Topic

CONSUMER_GROUP = "referral-arrears"
# What this part publishes, for the service's EMITS (AsyncAPI).
EMITS: tuple[type[EventData], ...] = (TenancyAtRisk, ReferralSubmitted)


def install(runtime: ServiceRuntime) -> APIRouter:
    store = ArrearsStore(runtime)
    pipeline = AlertPipeline(store, runtime.relay, runtime.clock)
    batcher = AlertBatcher(pipeline)  # gathers concurrent single webhooks into batches
    consumer = runtime.consumer(
        [Topic.ARREARS_ALERTS, Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS], group=CONSUMER_GROUP
    )
    register_handlers(consumer, store, pipeline)
    return build_router(store, pipeline, batcher, runtime.clock)
