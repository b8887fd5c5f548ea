"""The web app's defences against the real stack and the real identity provider, mostly
without a browser (the sign-in is Keycloak's own form, posted with httpx): security headers,
sign-in required everywhere, no way off-site, session fixation, CSRF, login CSRF and replayed
callbacks, idle and absolute timeouts, sign-out here and at the provider, sealed tokens, no
personal data in addresses or logs, and no framing."""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from playwright.sync_api import Page

from devstack.identities import PASSWORD, Identities
from devstack.platform import DEMO_WEB_SESSION_KEY, Platform
from services.web.context import current_viewer
from services.web.pages import PAGES
from services.web.sessions import SessionStore, TokenSeal
from services.web.settings import WebSettings
from shared.mongo import Collection, make_mongo_client
from shared.settings import HearthSettings
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.web.browser import csrf_token, http_browser, http_sign_in, person

pytestmark = pytest.mark.integration

ORG = "derby-council"
TEAM = "sec-team"
WORKER = "sec-cw"
COOKIE = "hearth-session"  # served over plain http here (no __Host- prefix)
SIGN_IN_COOKIE = "hearth-sign-in"
# A person nobody else in the suite is called, so any trace of them is this module's.
GIVEN, FAMILY, BORN = "Philippa", "Quenneville", "1971-03-14"
PERSONAL = (GIVEN, FAMILY, BORN, "14 March 1971", "14/03/1971", "QQ 12 34 56 C", "QQ123456C")


# --- helpers ---------------------------------------------------------------------------------


def session_cookie(http: httpx.Client) -> str | None:
    values = {c.value for c in http.cookies.jar if c.name == COOKIE}
    assert len(values) <= 1, f"two session cookies in one browser: {values}"
    return values.pop() if values else None


def plant(http: httpx.Client, name: str, value: str) -> None:
    """A cookie as the app would set it (host-only 127.0.0.1, path /), e.g. by an attacker."""
    http.cookies.set(name, value, domain="127.0.0.1", path="/")


def provider_form(answer: httpx.Response) -> str:
    match = re.search(r'<form[^>]+action="([^"]+)"', answer.text)
    assert match, f"no sign-in form at {answer.url}"
    return urljoin(str(answer.url), html.unescape(match.group(1)))


def callback_url(http: httpx.Client, web_url: str, username: str) -> str:
    """Start a sign-in and post the provider's form, but stop where the provider sends the
    browser back: the callback address with its code and state (not yet used)."""
    answer = http.get(f"{web_url}/sign-in", follow_redirects=True)
    given = http.post(provider_form(answer), data={"username": username, "password": PASSWORD})
    assert given.status_code == 302, given.text[:300]
    location = given.headers["location"]
    assert location.startswith(f"{web_url}/auth/callback?"), location
    return location


def asks_for_password(answer: httpx.Response) -> bool:
    return 'name="password"' in answer.text and "kc-login" in answer.text


PUBLIC = {"/sign-in", "/auth/callback", "/signed-out", "/accessibility", "/privacy"}


def _needs_viewer(dependant: Dependant) -> bool:
    return any(d.call is current_viewer or _needs_viewer(d) for d in dependant.dependencies)


def routes_behind_sign_in() -> list[tuple[str, str]]:
    """Every page route that needs a signed-in viewer, as (method, a path to request)."""
    found = []
    for router in PAGES:
        for route in router.routes:
            if isinstance(route, APIRoute) and _needs_viewer(route.dependant):
                path = re.sub(r"\{[^}]+\}", "x-1", route.path)
                found += [(method, path) for method in sorted(route.methods or ())]
    return found


def public_routes() -> set[str]:
    return {
        route.path
        for router in PAGES
        for route in router.routes
        if isinstance(route, APIRoute) and not _needs_viewer(route.dependant)
    }


@asynccontextmanager
async def web_sessions(platform: Platform) -> AsyncIterator[Collection]:
    """The web app's own session collection, read raw (not through the app)."""
    settings = HearthSettings(service_name="web-test", mongo_url=platform.env["HEARTH_MONGO_URL"])
    mongo = make_mongo_client(settings)
    try:
        yield mongo[f"{platform.database_prefix}_web"]["sessions"]
    finally:
        await mongo.close()


def in_own_loop(work: Coroutine[object, object, None]) -> None:
    """Runs database checks on a loop of their own: Playwright's sync API (the session's
    browser) keeps an event loop running on the test thread, so the test's loop cannot run."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work).result()


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def caseworker(identities: Identities) -> str:
    return person(
        identities,
        "test.web.security.caseworker",
        ORG,
        ["caseworker"],
        teams=[TEAM],
        caseworker_id=WORKER,
        name="Casey Worker",
    )


@pytest.fixture(scope="module")
def leader(identities: Identities) -> str:
    return person(
        identities, "test.web.security.leader", ORG, ["team-leader"], teams=[TEAM], name="Lee Lead"
    )


@pytest.fixture
def signed_in(web_url: str, caseworker: str) -> Iterator[httpx.Client]:
    with http_browser() as http:
        http_sign_in(http, web_url, caseworker)
        yield http


SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def assert_defended(answer: httpx.Response, page: bool = True) -> None:
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    policy = answer.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, where
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, f"{where}: {name}"
    assert "strict-transport-security" not in answer.headers, f"{where}: HSTS over plain http"
    assert "server" not in answer.headers, where
    if page:
        assert answer.headers.get("cache-control") == "no-store", where


# --- tests -----------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(web_url: str, signed_in: httpx.Client) -> None:
    with http_browser() as anonymous:
        answers = [
            anonymous.get(f"{web_url}/"),  # to sign-in
            anonymous.get(f"{web_url}/sign-in"),  # to the provider
            anonymous.get(f"{web_url}/signed-out"),
            anonymous.get(f"{web_url}/accessibility"),
            anonymous.get(f"{web_url}/privacy"),
            anonymous.get(f"{web_url}/no-such-page"),
            anonymous.get(f"{web_url}/auth/callback?state=forged&code=forged"),
        ]
        asset = anonymous.get(f"{web_url}/assets/hearth/hearth.css")
    answers += [
        signed_in.get(f"{web_url}/"),
        signed_in.post(f"{web_url}/sign-out", data={}),  # refused: no CSRF token
    ]
    assert [a.status_code for a in answers] == [303, 302, 200, 200, 200, 404, 400, 200, 403]
    for answer in answers:
        assert_defended(answer)
    assert asset.status_code == 200
    assert_defended(asset, page=False)  # the app's own files may be cached; pages never


def test_unsigned_in_requests_go_to_sign_in_and_a_sign_in_never_leaves_the_site(
    web_url: str, caseworker: str
) -> None:
    # A page added without the viewer dependency would be open to anyone: only these are.
    assert public_routes() <= PUBLIC, public_routes() - PUBLIC
    routes = routes_behind_sign_in()
    assert ("GET", "/") in routes and ("POST", "/sign-out") in routes
    with http_browser() as anonymous:
        for method, path in routes:
            answer = anonymous.request(method, f"{web_url}{path}")
            assert answer.status_code == 303, f"{method} {path}: {answer.status_code}"
            location = urlsplit(answer.headers["location"])
            assert location.path == "/sign-in" and not location.netloc, f"{method} {path}"
            asked = parse_qs(location.query)["return_to"][0]
            assert asked == (path if method == "GET" else "/")
        # htmx asks for a full-page sign-in rather than following a redirect invisibly
        partial = anonymous.get(f"{web_url}/", headers={"HX-Request": "true"})
        assert partial.status_code == 401 and partial.headers["hx-redirect"] == "/sign-in"

    with http_browser() as http:
        http_sign_in(http, web_url, caseworker)  # the provider's session: no form from now
        for evil in ("//evil.example", "https://evil.example", "\\\\evil", "/\\evil.example"):
            answer = http.get(
                f"{web_url}/sign-in", params={"return_to": evil}, follow_redirects=True
            )
            assert str(answer.url) == f"{web_url}/", f"{evil} led to {answer.url}"
            for step in answer.history:
                assert "evil" not in urlsplit(step.headers["location"]).netloc
        # a page of this site is where it returns
        answer = http.get(
            f"{web_url}/sign-in", params={"return_to": "/privacy"}, follow_redirects=True
        )
        assert str(answer.url) == f"{web_url}/privacy"


def test_a_session_id_planted_before_sign_in_is_never_the_one_after(
    web_url: str, caseworker: str, leader: str
) -> None:
    # A made-up value planted in the victim's browser: signing in brings a new one.
    with http_browser() as victim:
        plant(victim, COOKIE, "attacker-chosen-value-0123456789")
        http_sign_in(victim, web_url, caseworker)
        after = session_cookie(victim)
        assert after and after != "attacker-chosen-value-0123456789"
        assert victim.get(f"{web_url}/").status_code == 200

    # The attacker's own live session planted: the victim's sign-in replaces and ends it.
    with http_browser() as attacker, http_browser() as victim:
        http_sign_in(attacker, web_url, leader)
        planted = session_cookie(attacker)
        assert planted
        plant(victim, COOKIE, planted)
        answer = victim.get(f"{web_url}/sign-in", follow_redirects=True)
        answer = victim.post(
            provider_form(answer),
            data={"username": caseworker, "password": PASSWORD},
            follow_redirects=True,
        )
        assert str(answer.url) == f"{web_url}/", answer.url
        assert "Casey Worker" in answer.text and "Lee Lead" not in answer.text
        after = session_cookie(victim)
        assert after and after != planted
        dead = attacker.get(f"{web_url}/")
        assert dead.status_code == 303 and dead.headers["location"].startswith("/sign-in")


def test_a_post_without_this_sessions_csrf_token_is_refused_and_changes_nothing(
    module_platform: Platform, web_url: str, caseworker: str, leader: str
) -> None:
    with http_browser() as http, http_browser() as other:
        http_sign_in(http, web_url, caseworker)
        http_sign_in(other, web_url, leader)
        mine = csrf_token(http.get(f"{web_url}/").text)
        theirs = csrf_token(other.get(f"{web_url}/").text)
        assert mine != theirs
        for refused in (
            {},
            {"csrf_token": theirs},
            {"csrf_token": mine[:-1] + ("A" if mine[-1] != "A" else "B")},
            {"csrf_token": ""},
        ):
            answer = http.post(f"{web_url}/sign-out", data=refused)
            assert answer.status_code == 403, refused
            assert "This form has expired" in answer.text
        wrong_header = http.post(f"{web_url}/sign-out", headers={"X-CSRF-Token": theirs})
        assert wrong_header.status_code == 403
        assert http.get(f"{web_url}/").status_code == 200  # still signed in: nothing changed

        # The right token signs out: here and at the provider.
        provider_cookies = [c for c in http.cookies.jar if c.name != COOKIE]
        old = session_cookie(http)
        assert old
        answer = http.post(f"{web_url}/sign-out", data={"csrf_token": mine})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(module_platform.env["HEARTH_OIDC_ISSUER"])
        done = http.get(answer.headers["location"], follow_redirects=True)
        assert str(done.url) == f"{web_url}/signed-out", done.url
        assert asks_for_password(http.get(f"{web_url}/", follow_redirects=True))

    with http_browser() as replay:  # the old session cookie no longer works
        plant(replay, COOKIE, old)
        dead = replay.get(f"{web_url}/")
        assert dead.status_code == 303 and dead.headers["location"].startswith("/sign-in")
    with http_browser() as replay:  # nor do the provider's cookies from before: its session ended
        for cookie in provider_cookies:
            replay.cookies.jar.set_cookie(cookie)
        assert asks_for_password(replay.get(f"{web_url}/", follow_redirects=True))


def test_a_body_larger_than_the_page_takes_is_refused_before_it_is_read(
    web_url: str, caseworker: str
) -> None:
    """A form is a few kilobytes: 300 KB of one is refused (413) without being parsed, so the
    CSRF check and the page never see it, and the session is untouched."""
    with http_browser() as http:
        http_sign_in(http, web_url, caseworker)
        token = csrf_token(http.get(f"{web_url}/").text)
        huge = {"csrf_token": token, "notes": "x" * 300_000}
        answer = http.post(f"{web_url}/sign-out", data=huge)
        assert answer.status_code == 413, answer.status_code
        assert "too large" in answer.text and "x" * 100 not in answer.text
        assert http.get(f"{web_url}/").status_code == 200  # still signed in: nothing changed


def test_the_callback_refuses_another_browsers_state_a_replay_and_a_missing_code(
    web_url: str, caseworker: str, leader: str
) -> None:
    # Login CSRF: the attacker's own finished sign-in, opened in the victim's browser.
    with http_browser() as attacker, http_browser() as victim:
        forged = callback_url(attacker, web_url, leader)
        victim.get(f"{web_url}/sign-in")  # the victim's own sign-in under way
        answer = victim.get(forged)
        assert answer.status_code == 400 and "not yours" in answer.text
        assert session_cookie(victim) is None
        # Without any sign-in of the victim's under way, the same.
        with http_browser() as bare:
            answer = bare.get(forged)
            assert answer.status_code == 400 and session_cookie(bare) is None

        # The attacker's own browser may use it once; a replay is refused.
        state = parse_qs(urlsplit(forged).query)["state"][0]
        used = attacker.get(forged)
        assert used.status_code == 303 and session_cookie(attacker)
        with http_browser() as replay:
            plant(replay, SIGN_IN_COOKIE, state)
            answer = replay.get(forged)
            assert answer.status_code == 400 and session_cookie(replay) is None

    # A callback with the right state but no code, or with the provider's error.
    with http_browser() as http:
        started = http.get(f"{web_url}/sign-in")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        answer = http.get(f"{web_url}/auth/callback", params={"state": state})
        assert answer.status_code == 400 and session_cookie(http) is None
        http.get(f"{web_url}/sign-in")
        answer = http.get(f"{web_url}/auth/callback", params={"error": "access_denied"})
        assert answer.status_code == 400 and session_cookie(http) is None


def test_a_session_ends_when_idle_and_after_its_lifetime(
    module_platform: Platform, web_url: str, caseworker: str
) -> None:
    in_own_loop(
        _session_ends_when_idle_and_after_its_lifetime(module_platform, web_url, caseworker)
    )


async def _session_ends_when_idle_and_after_its_lifetime(
    module_platform: Platform, web_url: str, caseworker: str
) -> None:
    # The limits the running web app has: its settings' defaults unless the platform set them.
    env, fields = module_platform.env, WebSettings.model_fields
    idle_minutes = int(env.get("HEARTH_WEB_IDLE_MINUTES", fields["web_idle_minutes"].default))
    hours = int(env.get("HEARTH_WEB_SESSION_HOURS", fields["web_session_hours"].default))
    assert idle_minutes <= 60  # minutes, not hours
    idle, lifetime = timedelta(minutes=idle_minutes), timedelta(hours=hours)
    with http_browser() as http:
        http_sign_in(http, web_url, caseworker)
        first = session_cookie(http)
        http.get(f"{web_url}/sign-in", follow_redirects=True)  # a second sign-in (provider SSO)
        second = session_cookie(http)
        assert first and second and first != second
        # The second sign-in ended the first (the session the browser brought).
        async with web_sessions(module_platform) as collection:
            store = SessionStore(collection, TokenSeal(DEMO_WEB_SESSION_KEY), idle, lifetime)
            now = datetime.now(UTC)
            assert await store.find(first, now) is None

            # Idle: a request just inside the limit keeps it; one past the limit ends it.
            at = now + idle - timedelta(minutes=1)
            assert await store.find(second, at) is not None
            assert await store.find(second, at + idle + timedelta(seconds=1)) is None
            assert await collection.find_one({"_id": digest(second)}) is None
            dead = http.get(f"{web_url}/")
            assert dead.status_code == 303 and dead.headers["location"].startswith("/sign-in")

            # Lifetime: busy all day (never idle) still ends at the absolute limit.
            http.get(f"{web_url}/sign-in", follow_redirects=True)
            busy = session_cookie(http)
            assert busy
            started = now
            step = idle - timedelta(minutes=5)
            moment = started + step
            while moment - started <= lifetime - timedelta(minutes=1):
                assert await store.find(busy, moment) is not None, moment - started
                moment += step
            assert await store.find(busy, started + lifetime + timedelta(minutes=1)) is None
            assert http.get(f"{web_url}/").status_code == 303

            # The sweep deletes what has expired without waiting for a request.
            http.get(f"{web_url}/sign-in", follow_redirects=True)
            swept = session_cookie(http)
            assert swept
            assert await store.sweep(datetime.now(UTC) + idle + timedelta(minutes=1)) >= 1
            assert await collection.find_one({"_id": digest(swept)}) is None


def test_the_session_store_holds_no_token_and_no_cookie_in_clear(
    module_platform: Platform, signed_in: httpx.Client
) -> None:
    in_own_loop(_store_holds_no_token_and_no_cookie_in_clear(module_platform, signed_in))


async def _store_holds_no_token_and_no_cookie_in_clear(
    module_platform: Platform, signed_in: httpx.Client
) -> None:
    cookie = session_cookie(signed_in)
    assert cookie
    async with web_sessions(module_platform) as collection:
        documents = [doc async for doc in collection.find({})]
        assert documents
        mine = next(doc for doc in documents if doc["_id"] == digest(cookie))
        tokens = TokenSeal(DEMO_WEB_SESSION_KEY).open(mine["tokens"], mine["_id"])
        raw = json.dumps(documents, default=str)
        for secret in (cookie, tokens.access, tokens.refresh, tokens.id_token):
            assert secret and secret not in raw
        assert tokens.access.rsplit(".", 1)[-1] not in raw  # not even its signature
        # Outside the sealed blobs, no JWT of anyone (a JWT's header starts "eyJ").
        unsealed = [{k: v for k, v in doc.items() if k != "tokens"} for doc in documents]
        assert "eyJ" not in json.dumps(unsealed, default=str)


def test_no_personal_data_in_addresses_or_in_the_web_apps_log(
    module_platform: Platform, web_url: str, caseworker: str, leader: str
) -> None:
    case_id = seed_case(module_platform)
    visited: list[httpx.Response] = []
    statuses: dict[str, int] = {}
    for username, paths in (
        (caseworker, ["/", "/caseload", f"/cases/{case_id}", f"/referrals/{case_id}"]),
        (leader, ["/", "/waiting-list", f"/cases/{case_id}", f"/referrals/{case_id}"]),
    ):
        with http_browser() as http:
            http_sign_in(http, web_url, username)
            for path in paths:
                answer = http.get(f"{web_url}{path}", follow_redirects=True)
                visited += [*answer.history, answer]
                statuses[f"{username.rsplit('.', 1)[-1]} {path}"] = answer.status_code
            if username == caseworker:  # a search by name and date of birth: a POST, never a URL
                form = http.get(f"{web_url}/referrals/search")
                if form.status_code == 200:
                    year, month, day = BORN.split("-")
                    answer = http.post(
                        f"{web_url}/referrals/search",
                        data={
                            "csrf_token": csrf_token(form.text),
                            "search_name": f"{GIVEN} {FAMILY}",
                            "search_dob-day": day,
                            "search_dob-month": month,
                            "search_dob-year": year,
                        },
                        follow_redirects=True,
                    )
                    visited += [*answer.history, answer]
                    statuses["caseworker POST /referrals/search"] = answer.status_code
    assert statuses["caseworker /"] == 200
    shown = [k for k, status in statuses.items() if status == 200 and "/cases/" in k]
    print(f"pages visited: {statuses}; the case shown on {shown}")
    for answer in visited:
        addresses = [str(answer.url), answer.headers.get("location", "")]
        for value in PERSONAL:
            for address in addresses:
                assert value.lower() not in address.lower(), f"{value} in {address}"

    log = module_platform.services["web"].log_path.read_text()
    assert '"web.request"' in log  # the app's own JSON lines: the right file, and logging
    for value in PERSONAL:
        assert value.lower() not in log.lower(), f"{value} in the web app's log"


def seed_case(platform: Platform) -> str:
    """A team, its caseworker and a referral of a person with a name nobody else has,
    allocated to that caseworker, through the services' own APIs."""
    staff = dict(bearer(ORG))
    url = {name: f"{p.url}/v1" for name, p in platform.services.items()}
    team = {
        "id": TEAM,
        "name": "Security team",
        "team_leader": {"id": "sec-lead", "name": "Lee Lead", "email": "lee@derby.test"},
    }
    created = httpx.post(f"{url['allocation']}/teams", json=team, headers=staff, timeout=30)
    assert created.status_code in (201, 409), created.text
    worker = {
        "id": WORKER,
        "team_id": TEAM,
        "name": "Casey Worker",
        "email": "casey@derby.test",
        "specialisms": ["generalist", "mental_health"],
        "contracted_hours": 30,
        "max_caseload": 12,
    }
    created = httpx.post(f"{url['allocation']}/caseworkers", json=worker, headers=staff, timeout=30)
    assert created.status_code in (201, 409), created.text
    body = referral_json(
        person={
            "given_name": GIVEN,
            "family_name": FAMILY,
            "date_of_birth": BORN,
            "ni_number": "QQ 12 34 56 C",
            "household": [],
        }
    )
    answer = httpx.post(
        f"{url['referral']}/referrals",
        json=body,
        headers={**staff, "Idempotency-Key": "sec-referral-1"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["id"]

    deadline = time.monotonic() + 60
    while httpx.get(f"{url['support']}/cases/{case_id}", headers=staff, timeout=30).is_error:
        assert time.monotonic() < deadline, "the support case was never opened"
        time.sleep(0.3)
    return case_id


def test_the_app_refuses_to_be_framed(page: Page, web_url: str) -> None:
    page.set_content(f'<iframe title="framed" src="{web_url}/accessibility"></iframe>')
    page.wait_for_timeout(1500)
    frames = [f for f in page.frames if f != page.main_frame]
    assert frames
    framed = frames[0]
    assert not framed.url.startswith(web_url) or "Accessibility" not in framed.content()
