"""The web app's busiest pages for an organisation with 2,000 open cases: median and p95.

    .venv/bin/python -m bench.web_pages [--cases 2000] [--waiting 100] [--requests 200]
                                        [--teams 5] [--workers-per-team 20]

Against the real stack (the project's own Kafka, FerretDB and Keycloak, or HEARTH_*), every
service as its own process and the web app last, as `./hearth demo` runs them. It seeds one
organisation through the services' APIs: teams and caseworkers whose caseloads hold exactly
`--cases` cases, then `--cases + --waiting` referrals posted concurrently, so the first
`--cases` are allocated and opened and the rest wait. Then it signs in a caseworker and a team
leader through Keycloak's own sign-in form (as a browser would, with httpx) and requests, one
at a time, `--requests` times each:

- the caseworker's caseload (`/caseload`) and one of their cases (`/cases/{id}`);
- the team leader's waiting list (`/waiting-list`) and team capacity (`/team`);

and prints each page's median and p95 *server* time (the `ms` of the web app's own
`web.request` log line, matched by request id: from the request reaching the app to its
answer, API calls included) beside the client's time, then the same for the API calls those
pages rest on, called directly with the same person's token (client time on loopback: the
APIs log no timing of their own). A page that does not exist yet (404) is reported, not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from bench.common import machine, print_table, real_stack, services_env
from bench.pipeline import percentile
from devstack.identities import PASSWORD, Identities, Identity
from devstack.keycloak_admin import KeycloakAdmin
from devstack.platform import Platform, available_services
from devstack.provision import Infrastructure
from devstack.sinks import MailSink
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings

ORG = "bench-web-council"
SPECIALISMS = ["generalist", "mental_health", "substance_misuse", "domestic_abuse", "offending"]
CONCURRENCY = 16  # referrals in flight while seeding


def browser() -> httpx.Client:
    """Cookies as a browser keeps them: http://127.0.0.1 counts as secure, so the provider's
    Secure cookies go back to it (Python's cookie jar would drop them over plain http)."""
    # Idle connections dropped before uvicorn drops them (5 s): no reset on reuse.
    http = httpx.Client(timeout=60, limits=httpx.Limits(keepalive_expiry=2))

    def keep_secure_cookies(_: httpx.Response) -> None:
        for cookie in http.cookies.jar:
            cookie.secure = False

    http.event_hooks["response"] = [keep_secure_cookies]
    return http


def sign_in(http: httpx.Client, web_url: str, username: str) -> None:
    """Through the provider's own form, as tests/web/browser.py's http_sign_in does."""
    page = http.get(f"{web_url}/", follow_redirects=True)
    match = re.search(r'<form[^>]+action="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no sign-in form at {page.url}")
    action = urljoin(str(page.url), html.unescape(match.group(1)))
    answer = http.post(
        action, data={"username": username, "password": PASSWORD}, follow_redirects=True
    )
    if not str(answer.url).startswith(web_url) or answer.is_error:
        raise RuntimeError(f"sign-in of {username} ended at {answer.url} ({answer.status_code})")


# --- seeding ---------------------------------------------------------------------------------


def seed_teams(url: dict[str, str], staff: dict[str, str], args: argparse.Namespace) -> None:
    """Caseloads that hold exactly --cases: every worker's max_caseload is its share."""
    workers = args.teams * args.workers_per_team
    per_worker = -(-args.cases // workers)  # ceiling
    if per_worker * workers != args.cases:
        raise SystemExit(f"--cases must be a multiple of {workers} (teams x workers per team)")
    with httpx.Client(headers=staff, timeout=60) as http:
        for t in range(args.teams):
            team = {
                "id": f"team-{t}",
                "name": f"Team {t}",
                "team_leader": {"id": f"leader-{t}", "name": f"Leader {t}", "email": "l@b.test"},
            }
            http.post(f"{url['allocation']}/teams", json=team).raise_for_status()
            for w in range(args.workers_per_team):
                worker = {
                    "id": f"cw-{t}-{w}",
                    "team_id": f"team-{t}",
                    "name": f"Worker {t}-{w}",
                    "email": f"cw{t}{w}@b.test",
                    "specialisms": SPECIALISMS,
                    "contracted_hours": 60,  # 20 cases at up to 3 h fit in 60 h
                    "max_caseload": per_worker,
                }
                http.post(f"{url['allocation']}/caseworkers", json=worker).raise_for_status()


def referral(i: int) -> dict[str, Any]:
    return {
        "source": "housing_officer",
        "referrer": {"organisation": ORG, "source": "housing_officer"},
        "person": {
            "given_name": f"Bench{i}",
            "family_name": "Person",
            "date_of_birth": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
        },
        "consent": {"to_record": True, "to_share": True, "share_with": [], "channels_allowed": []},
        "support_needs": ["budgeting_debt", "benefits"],
        "urgency": {"legal_stage": ["none", "notice_served", "possession_order"][i % 3]},
        "referring_area": "Derby",
        "recourse_to_public_funds": True,
    }


async def post_referrals(referral_url: str, staff: dict[str, str], n: int) -> list[str]:
    """Concurrently (the API has no bulk intake for people's referrals); ids in order."""
    ids: list[str] = [""] * n
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(headers=staff, timeout=120) as http:

        async def one(i: int) -> None:
            async with gate:
                answer = await http.post(
                    f"{referral_url}/referrals",
                    json=referral(i),
                    headers={"Idempotency-Key": f"bench-web-{i}"},
                )
                answer.raise_for_status()
                ids[i] = answer.json()["id"]
                if (done := sum(1 for x in ids if x)) % 500 == 0:
                    print(f"  ... {done} referrals posted", flush=True)

        await asyncio.gather(*(one(i) for i in range(n)))
    return ids


async def wait_for_open_cases(
    settings: HearthSettings, prefix: str, url: dict[str, str], staff: dict[str, str], n: int
) -> None:
    """Until allocation holds n open cases and the support service has opened them all."""
    mongo = make_mongo_client(settings)
    cases = mongo[f"{prefix}_support"]["cases"]
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(headers=staff, timeout=60) as http:
            while True:
                capacity = (await http.get(f"{url['allocation']}/capacity")).json()
                allocated = capacity["organisation_totals"]["open_cases"]
                opened = await cases.count_documents({"status": "open"})
                if allocated >= n and opened >= n:
                    return
                if time.perf_counter() - started > 900:
                    raise TimeoutError(f"{allocated} allocated, {opened} opened of {n}")
                print(f"  ... {allocated} allocated, {opened} opened", flush=True)
                await asyncio.sleep(5)
    finally:
        await mongo.close()


# --- measuring -------------------------------------------------------------------------------


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"median {statistics.median(values):6.1f} ms   p95 {percentile(values, 95):6.1f} ms"
        f"   (n={len(values)})"
    )


def time_page(http: httpx.Client, web_url: str, path: str, label: str, n: int) -> dict[str, Any]:
    """n requests one after another; the client's ms by request id (the server's come from
    the log afterwards). Five first requests warm the caches and are not counted."""
    first = http.get(f"{web_url}{path}")
    if first.status_code != 200:
        return {"status": first.status_code, "client": {}}
    for _ in range(5):
        http.get(f"{web_url}{path}")
    client: dict[str, float] = {}
    for i in range(n):
        request_id = f"bench-{label}-{i}-{uuid.uuid4().hex[:6]}"
        sent = time.perf_counter()
        answer = http.get(f"{web_url}{path}", headers={"X-Request-ID": request_id})
        client[request_id] = (time.perf_counter() - sent) * 1000
        if answer.status_code != 200:
            return {"status": answer.status_code, "client": {}}
    return {"status": 200, "client": client}


def time_api(url: str, headers: dict[str, str], n: int) -> tuple[int, list[float]]:
    with httpx.Client(headers=headers, timeout=60) as http:
        first = http.get(url)
        if first.is_error:
            return first.status_code, []
        for _ in range(5):
            http.get(url)
        times = []
        for _ in range(n):
            sent = time.perf_counter()
            http.get(url).raise_for_status()
            times.append((time.perf_counter() - sent) * 1000)
        return 200, times


def server_ms(log_path: Path) -> dict[str, float]:
    """The web app's own time per request id, from its JSON `web.request` lines."""
    found: dict[str, float] = {}
    for line in log_path.read_text().splitlines():
        if '"web.request"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "request_id" in entry and "ms" in entry:
            found[entry["request_id"]] = float(entry["ms"])
    return found


# --- the run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    identities = Identities(KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin))
    prefix = f"w{uuid.uuid4().hex[:8]}"
    settings = HearthSettings(service_name="bench", mongo_url=infra.mongo_url)
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-web-"))
    mail = MailSink().start()
    env = services_env(
        infra,
        prefix,
        HEARTH_LOG_JSON="true",
        HEARTH_SMTP_HOST="127.0.0.1",
        HEARTH_SMTP_PORT=str(mail.port),
    )
    platform = Platform(env, log_dir, database_prefix=prefix)
    rows: list[tuple[str, str]] = [("machine", machine())]
    try:
        for name in available_services():
            if name != "web":
                platform.start_service(name)
        platform.wait_healthy(timeout=180)
        platform.env["HEARTH_LOG_LEVEL"] = "INFO"  # the web app's web.request lines
        web = platform.start_service("web")
        platform.wait_healthy(timeout=120)
        url = {name: f"{p.url}/v1" for name, p in platform.services.items()}
        staff = identities.headers(Identity(ORG))

        started = time.perf_counter()
        seed_teams(url, staff, args)
        ids = await post_referrals(url["referral"], staff, args.cases + args.waiting)
        posted = time.perf_counter() - started
        print(f"  {len(ids)} referrals posted in {posted:.0f} s", flush=True)
        await wait_for_open_cases(settings, prefix, url, staff, args.cases)
        seeded = time.perf_counter() - started
        print(f"  {args.cases} cases open after {seeded:.0f} s", flush=True)
        rows.append(
            (
                "seeded",
                f"{args.cases:,} open cases ({args.teams} teams x {args.workers_per_team} "
                f"caseworkers) + {args.waiting} waiting, in {seeded:.0f} s",
            )
        )

        worker, team = "cw-0-0", "team-0"
        caseworker = Identity(ORG, ("caseworker",), (team,), worker)
        leader = Identity(ORG, ("team-leader",), (team,))
        for person, name in ((caseworker, "Bench Caseworker"), (leader, "Bench Leader")):
            identities.token(person)  # creates the user (and caches an API token)
            identities.admin.ensure_user(  # named, as a person signing in to a browser is
                person.username,
                PASSWORD,
                organisation=ORG,
                roles=list(person.roles),
                teams=list(person.teams),
                caseworker_id=person.caseworker_id,
                name=name,
            )
        worker_headers = identities.headers(caseworker)
        leader_headers = identities.headers(leader)
        async with httpx.AsyncClient(headers=worker_headers, timeout=60) as http:
            their_cases = await http.get(f"{url['support']}/caseworkers/{worker}/cases")
        their_cases.raise_for_status()
        case_ids = [str(c["case_id"]) for c in their_cases.json()["cases"]]
        case_id = case_ids[0]
        names_query = "&".join(f"id={c}" for c in case_ids)

        pages = {}
        with browser() as as_worker, browser() as as_leader:
            sign_in(as_worker, web.url, caseworker.username)
            sign_in(as_leader, web.url, leader.username)
            for label, http, path in (
                ("caseload", as_worker, "/caseload"),
                ("case", as_worker, f"/cases/{case_id}"),
                ("waiting-list", as_leader, "/waiting-list"),
                ("team", as_leader, "/team"),
            ):
                pages[label] = (path, time_page(http, web.url, path, label, args.requests))
                print(f"  {path}: {pages[label][1]['status']}", flush=True)
        await asyncio.sleep(1)  # the last log lines reach the file
        logged = server_ms(web.log_path)
        for path, timed in pages.values():
            name = f"page {path.replace(case_id, '{id}')}"
            if timed["status"] != 200:
                rows.append((name, f"NOT TIMED: the page answered {timed['status']}"))
                continue
            server = [logged[r] for r in timed["client"] if r in logged]
            rows.append((f"{name}  server", summary(server)))
            rows.append((f"{name}  client", summary(list(timed["client"].values()))))

        for name, api_url, headers in (
            ("support GET /caseworkers/{id}/cases", f"/caseworkers/{worker}/cases", worker_headers),
            ("support GET /cases/{id}", f"/cases/{case_id}", worker_headers),
            ("allocation GET /cases/{id}", f"/cases/{case_id}", worker_headers),
            ("referral GET /referrals/{id}", f"/referrals/{case_id}", worker_headers),
            (
                f"referral GET /referrals?id=... ({len(case_ids)} names)",
                f"/referrals?{names_query}",
                worker_headers,
            ),
            (
                "support GET /reviews/due (worker, 92 days)",
                f"/reviews/due?worker_id={worker}&days=92",
                worker_headers,
            ),
            ("allocation GET /waiting-list", "/waiting-list", leader_headers),
            ("allocation GET /capacity", "/capacity", leader_headers),
            (
                "allocation GET /caseworkers?with_cases",
                "/caseworkers?with_cases=true",
                leader_headers,
            ),
        ):
            service = name.split()[0]
            status, times = time_api(f"{url[service]}{api_url}", headers, args.requests)
            rows.append(
                (f"api {name}", summary(times) if times else f"NOT TIMED: answered {status}")
            )
    finally:
        platform.stop()
        mail.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_pages")
    parser.add_argument("--cases", type=int, default=2000, help="open, allocated cases")
    parser.add_argument("--waiting", type=int, default=100, help="cases left waiting")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--workers-per-team", type=int, default=20)
    args = parser.parse_args()
    with real_stack() as infra:
        rows = asyncio.run(run(args, infra))
    print_table(
        "Hearth web pages, one request at a time (server: the web app's own ms; client: "
        "httpx on loopback)",
        rows,
    )


if __name__ == "__main__":
    main()
