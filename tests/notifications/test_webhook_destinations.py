"""Where a partner webhook may go: public HTTPS only. Pure, no stack."""

from __future__ import annotations

import pytest

from services.notifications.destinations import (
    Destination,
    DestinationRefused,
    Resolver,
    destination_allowed,
    resolve_destination,
    url_refusal,
)

REFUSED_ADDRESSES = [
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.10",
    "127.0.0.1",
    "127.9.9.9",
    "::1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "0.0.0.0",
    "0.1.2.3",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "192.0.2.1",  # documentation
    "2001:db8::1",
    "not-an-address",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_internal_addresses_are_refused(address: str) -> None:
    assert not destination_allowed([address], allow_loopback=False)


def test_one_bad_answer_among_good_ones_refuses_all() -> None:
    assert not destination_allowed(["93.184.215.14", "169.254.169.254"], False)
    assert not destination_allowed([], False)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert destination_allowed([address], allow_loopback=False)


def test_loopback_only_when_allowed_and_nothing_else_with_it() -> None:
    assert destination_allowed(["127.0.0.1", "::1"], allow_loopback=True)
    assert destination_allowed(["::ffff:127.0.0.1"], allow_loopback=True)
    assert not destination_allowed(["169.254.169.254"], allow_loopback=True)
    assert not destination_allowed(["10.0.0.1"], allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "allow_loopback"),
    [
        ("http://partner.example/hook", False),
        ("http://partner.example/hook", True),  # http only for loopback
        ("http://127.0.0.1:8080/hook", False),
        ("ftp://partner.example/hook", False),
        ("https://user:pw@partner.example/hook", False),
        ("https://127.0.0.1:27017/", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("https://[::ffff:169.254.169.254]/", False),
        ("https://[fe80::1]/", False),
        ("https://10.0.0.5/", True),
        ("https://partner.example:99999/", False),
        ("https:///nohost", False),
        ("partner.example/hook", False),
    ],
)
def test_urls_refused_at_save(url: str, allow_loopback: bool) -> None:
    assert url_refusal(url, allow_loopback) is not None


@pytest.mark.parametrize(
    ("url", "allow_loopback"),
    [
        ("https://partner.example/hook", False),
        ("https://93.184.215.14:8443/hook?x=1", False),
        ("http://127.0.0.1:8080/hook", True),
        ("http://localhost:8080/hook", True),
    ],
)
def test_urls_accepted_at_save(url: str, allow_loopback: bool) -> None:
    assert url_refusal(url, allow_loopback) is None


class Answers(Resolver):
    """A DNS answer chosen by the test (as a changed record would be)."""

    def __init__(self, *addresses: str) -> None:
        self.answer = list(addresses)

    async def addresses(self, host: str, port: int) -> list[str]:
        return self.answer


async def test_the_checked_address_is_the_one_connected_to() -> None:
    destination = await resolve_destination(
        "https://partner.example:8443/hook?a=1", False, Answers("93.184.215.14")
    )
    assert destination == Destination(
        "https", "partner.example", 8443, "93.184.215.14", "/hook?a=1"
    )
    assert destination.connect_url == "https://93.184.215.14:8443/hook?a=1"
    assert destination.host_header == "partner.example:8443"
    v6 = await resolve_destination("https://partner.example/", False, Answers("2606:4700::1111"))
    assert (
        v6.connect_url == "https://[2606:4700::1111]:443/" and v6.host_header == "partner.example"
    )


@pytest.mark.parametrize("answer", [["169.254.169.254"], ["127.0.0.1"], ["10.0.0.1", "8.8.8.8"]])
async def test_a_name_resolving_inside_is_refused(answer: list[str]) -> None:
    with pytest.raises(DestinationRefused):
        await resolve_destination("https://partner.example/", False, Answers(*answer))


async def test_plain_http_never_leaves_the_machine() -> None:
    # "localhost" passes the URL check in development, but must resolve to loopback only.
    with pytest.raises(DestinationRefused):
        await resolve_destination("http://localhost/", True, Answers("93.184.215.14"))
    ok = await resolve_destination("http://localhost:8080/x", True, Answers("127.0.0.1"))
    assert ok.connect_url == "http://127.0.0.1:8080/x"


async def test_the_real_resolver_answers_literals_and_localhost() -> None:
    assert await Resolver().addresses("169.254.169.254", 443) == ["169.254.169.254"]
    assert destination_allowed(await Resolver().addresses("localhost", 443), True)
