"""Partner webhook endpoints over the real broker and database, with real HTTP receivers on
the other side: each partner verifies with its own secret, a replay fails, rotation keeps
two secrets live, internal destinations are refused at save and (after a changed DNS answer)
at send, and the delivery log never carries a socket error."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack.servers import free_port
from devstack.sinks import Received
from services.notifications.destinations import REFUSED, Resolver
from services.notifications.settings import NotificationSettings
from services.notifications.store import DeliveryRecord, Status, webhook_address
from services.notifications.webhook_signing import SIGNATURE_HEADER, verify
from shared.ids import new_id
from tests.notifications.conftest import Harness, eventually
from tests.notifications.events import closed

pytestmark = pytest.mark.integration

PUBLIC = "93.184.215.14"  # a public address, as a partner's DNS would answer
ENDPOINTS = "/v1/webhook-endpoints"


async def _running(settings: NotificationSettings, smtp, provider) -> AsyncIterator[Harness]:
    running = Harness(settings, smtp, provider)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def dev(notification_settings, smtp, provider) -> AsyncIterator[Harness]:
    """As in development: loopback receivers (the test's own HTTP servers) allowed."""
    settings = notification_settings(smtp.port, webhook_allow_loopback=True)
    async for running in _running(settings, smtp, provider):
        yield running


@pytest.fixture
async def strict(notification_settings, smtp, provider) -> AsyncIterator[Harness]:
    """As in production: loopback refused like every other internal address."""
    settings = notification_settings(smtp.port, webhook_allow_loopback=False)
    async for running in _running(settings, smtp, provider):
        yield running


class Answers(Resolver):
    """The DNS answer the test chooses, as a partner's (or an attacker's) record would say."""

    def __init__(self, *addresses: str) -> None:
        self.answer = list(addresses)

    async def addresses(self, host: str, port: int) -> list[str]:
        return list(self.answer)


@pytest.fixture
def dns(strict: Harness, monkeypatch: pytest.MonkeyPatch) -> Answers:
    answers = Answers(PUBLIC)
    # The one resolver the API and the channel share: both see the changed answer.
    monkeypatch.setattr(strict.runtime.resolver, "addresses", answers.addresses)
    return answers


class Failing:
    """A partner system that answers 500 to everything."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(inner) -> None:
                body = inner.rfile.read(int(inner.headers.get("Content-Length") or 0))
                self.requests.append(Received(inner.path, dict(inner.headers.items()), body))
                inner.send_response(500)
                inner.send_header("Content-Length", "0")
                inner.end_headers()

            def log_message(inner, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failing() -> Iterator[Failing]:
    server = Failing()
    yield server
    server.stop()


async def register(h: Harness, key: str, url: str, **body: Any) -> dict[str, Any]:
    response = await h.api("POST", ENDPOINTS, key, json={"url": url, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def queue_webhook(h: Harness, to_org: str, event_type: str = "CaseClosed") -> str:
    """A webhook delivery as routing plans one (address: the organisation's endpoints)."""
    now = h.clock.now()
    record = DeliveryRecord(
        delivery_id=new_id(),
        organisation="derby-council",
        case_id=f"case-{new_id()[:6]}",
        trigger_event_id=new_id(),
        trigger_event_type=event_type,
        recipient_role="agency",
        recipient_key=f"agency:{to_org}",
        recipient_org=to_org,
        channel="webhook",
        address=webhook_address(to_org),
        template="agency_closure_notice",
        status=Status.PENDING,
        created_at=now,
        updated_at=now,
        due_at=now,
        subject="Case closed",
        body="The case was closed.",
    )
    uow = h.runtime.store.unit()
    h.runtime.store.add_deliveries(uow, [record])
    await uow.commit()
    h.runtime.worker.wake()
    return record.delivery_id


async def received(h: Harness, path: str, count: int) -> None:
    async def arrived() -> bool:
        return len(h.provider.on(path)) >= count

    await eventually(arrived)


async def logged(h: Harness, delivery_id: str) -> dict[str, Any]:
    """The delivery log's entry once an attempt was made, as the case's organisation sees it."""

    async def attempted() -> bool:
        doc = await h.runtime.store.deliveries.find_one({"_id": delivery_id})
        return doc is not None and doc.get("attempts", 0) >= 1

    await eventually(attempted)
    response = await h.api("GET", f"/v1/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- refusals ----------------------------------------------------------------------------


async def test_internal_destinations_are_refused_at_save(strict: Harness) -> None:
    h = strict
    mongo_port = urlsplit(h.settings.mongo_url).port
    for url in (
        f"https://127.0.0.1:{mongo_port}/",  # the database
        f"http://127.0.0.1:{mongo_port}/",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://[::ffff:169.254.169.254]/",
        "https://10.0.0.8/hook",
        "http://partner.example/hook",  # not https
        "https://admin:pw@partner.example/hook",
    ):
        response = await h.api("POST", ENDPOINTS, "key-probation", json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert "url" in response.text, response.text
    assert (await h.api("GET", ENDPOINTS, "key-probation")).json() == []


async def test_a_name_resolving_to_an_internal_address_is_refused_at_save(
    strict: Harness, dns: Answers
) -> None:
    h = strict
    for answer in (["169.254.169.254"], ["127.0.0.1"], [PUBLIC, "10.1.1.1"]):
        dns.answer = answer
        response = await h.api(
            "POST", ENDPOINTS, "key-probation", json={"url": "https://partner.example/hook"}
        )
        assert response.status_code == 422, (answer, response.text)
        assert response.json()["detail"] == "url: destination not allowed"


async def test_a_changed_dns_answer_is_refused_at_send(strict: Harness, dns: Answers) -> None:
    h = strict
    mongo_port = urlsplit(h.settings.mongo_url).port
    await register(h, "key-probation", "https://partner.example/hook")
    await register(h, "key-homes", f"https://homes.example:{mongo_port}/hook")
    # Both names now point inside: the metadata service and the database's own port.
    dns.answer = ["169.254.169.254"]
    metadata = await logged(h, await queue_webhook(h, "probation-east"))
    dns.answer = ["127.0.0.1"]
    database = await logged(h, await queue_webhook(h, "derby-homes"))
    for entry in (metadata, database):
        assert (entry["status"], entry["reason"]) == ("parked", REFUSED)
        assert [a["reason"] for a in entry["attempt_log"]] == [REFUSED]
        assert entry["address"].startswith("endpoints:")  # never a partner's URL


async def test_plain_http_and_shared_settings_url_are_refused(strict: Harness) -> None:
    h = strict
    # The old shared-secret route to a partner is closed: endpoints have their own secrets.
    response = await h.api(
        "PUT", "/v1/settings", "key-probation", json={"webhook_url": "https://x.example/h"}
    )
    assert response.status_code == 422 and "webhook_url" in response.text


async def test_failures_are_logged_with_a_generic_reason(dev: Harness, failing: Failing) -> None:
    h = dev
    await register(h, "key-probation", f"http://127.0.0.1:{failing.port}/hook")
    closed_port = free_port()  # nothing listens here
    await register(h, "key-homes", f"http://127.0.0.1:{closed_port}/hook")
    server_error = await logged(h, await queue_webhook(h, "probation-east"))
    refused = await logged(h, await queue_webhook(h, "derby-homes"))
    assert (server_error["status"], server_error["reason"]) == ("pending", "HTTP 500")
    assert (refused["status"], refused["reason"]) == ("pending", "connection failed")
    assert "Errno" not in str(refused) and "127.0.0.1" not in str(refused)
    assert len(failing.requests) == 1


# --- partners verify ---------------------------------------------------------------------


async def test_each_partner_verifies_with_its_own_secret(dev: Harness) -> None:
    h = dev
    probation = await register(
        h, "key-probation", f"{h.provider.url}/partner/probation", description="case system"
    )
    homes = await register(h, "key-homes", f"{h.provider.url}/partner/homes")
    assert probation["secret"].startswith("whsec_") and probation["secret"] != homes["secret"]

    # Through the whole path: a closure told to every involved agency it has an agreement with.
    await h.grant("probation-east", "derby-homes")
    await h.publish(closed("case-w", involved=["derby-council", "probation-east", "derby-homes"]))
    await received(h, "/partner/probation", 1)
    await received(h, "/partner/homes", 1)
    (to_probation,) = h.provider.on("/partner/probation")
    (to_homes,) = h.provider.on("/partner/homes")
    now = h.clock.now()
    assert verify(probation["secret"], to_probation.headers, to_probation.body, now)
    assert verify(homes["secret"], to_homes.headers, to_homes.body, now)
    # Another partner's secret verifies nothing.
    assert not verify(homes["secret"], to_probation.headers, to_probation.body, now)
    assert not verify(probation["secret"], to_homes.headers, to_homes.body, now)
    # The same delivery replayed later falls outside the window.
    later = now + timedelta(minutes=10)
    assert not verify(probation["secret"], to_probation.headers, to_probation.body, later)
    assert to_probation.json()["case_id"] == "case-w"
    (record,) = await h.deliveries(case_id="case-w", recipient_key="agency:probation-east")
    assert to_probation.headers["webhook-id"] == f"msg_{record['_id']}"
    assert to_probation.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert to_probation.headers["host"] == f"127.0.0.1:{h.provider.port}"


async def test_secrets_are_shown_once_and_endpoints_belong_to_their_organisation(
    dev: Harness,
) -> None:
    h = dev
    created = await register(
        h, "key-probation", f"{h.provider.url}/hook", event_types=["CaseClosed"]
    )
    listed = (await h.api("GET", ENDPOINTS, "key-probation")).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0] and created["secret"] not in str(listed)
    one = await h.api("GET", f"{ENDPOINTS}/{created['id']}", "key-probation")
    assert one.status_code == 200 and created["secret"] not in one.text
    assert listed[0]["event_types"] == ["CaseClosed"]
    # Another organisation: as if it did not exist.
    assert (await h.api("GET", ENDPOINTS, "key-homes")).json() == []
    for method, path in (
        ("GET", f"{ENDPOINTS}/{created['id']}"),
        ("POST", f"{ENDPOINTS}/{created['id']}/rotate"),
        ("POST", f"{ENDPOINTS}/{created['id']}/disable"),
    ):
        response = await h.api(method, path, "key-homes")
        assert response.status_code == 404, (method, path, response.text)
    bad = await h.api(
        "POST", ENDPOINTS, "key-probation", json={"url": "https://x.example/", "event_types": ["X"]}
    )
    assert bad.status_code == 422 and "event_types" in bad.text


async def test_rotation_signs_with_both_secrets_during_the_grace_period(dev: Harness) -> None:
    h = dev
    created = await register(h, "key-probation", f"{h.provider.url}/partner/rotating")
    rotated = await h.api("POST", f"{ENDPOINTS}/{created['id']}/rotate", "key-probation")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None

    await queue_webhook(h, "probation-east")
    await received(h, "/partner/rotating", 1)
    (during,) = h.provider.on("/partner/rotating")
    now = h.clock.now()
    assert len(during.headers[SIGNATURE_HEADER].split(" ")) == 2
    assert verify(created["secret"], during.headers, during.body, now)  # not yet switched
    assert verify(new, during.headers, during.body, now)

    h.clock.advance(timedelta(hours=25))  # the grace period is over
    await queue_webhook(h, "probation-east")
    await received(h, "/partner/rotating", 2)
    after = h.provider.on("/partner/rotating")[1]
    now = h.clock.now()
    assert len(after.headers[SIGNATURE_HEADER].split(" ")) == 1
    assert verify(new, after.headers, after.body, now)
    assert not verify(created["secret"], after.headers, after.body, now)


async def test_a_disabled_endpoint_is_sent_nothing(dev: Harness) -> None:
    h = dev
    created = await register(h, "key-probation", f"{h.provider.url}/partner/off")
    disabled = await h.api("POST", f"{ENDPOINTS}/{created['id']}/disable", "key-probation")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    entry = await logged(h, await queue_webhook(h, "probation-east"))
    assert entry["status"] == "parked"
    assert h.provider.on("/partner/off") == []
