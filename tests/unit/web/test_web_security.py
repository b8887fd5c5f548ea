"""The web app's browser-facing defences, without I/O: the headers every answer carries (HSTS
only over TLS), the CSRF comparison, the token seal and where a sign-in may send someone."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidTag

from services.web.context import cookie_name
from services.web.pages.auth import safe_return_to
from services.web.security import content_security_policy, csrf_matches, security_headers
from services.web.sessions import Tokens, TokenSeal
from services.web.settings import WebSettings

ISSUER = "https://id.example.org/realms/hearth"


def settings(public_url: str) -> WebSettings:
    return WebSettings(service_name="web", web_public_url=public_url, oidc_issuer=ISSUER)


def headers_of(public_url: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in security_headers(settings(public_url))}


def test_the_policy_allows_no_inline_code_no_framing_and_forms_only_here_and_at_the_provider() -> (
    None
):
    directives = {
        d.split()[0]: d.split()[1:]
        for d in content_security_policy(settings("http://x")).split("; ")
    }
    assert "'unsafe-inline'" not in json.dumps(directives)
    assert "'unsafe-eval'" not in json.dumps(directives)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    # The provider's origin only, never its path (a form posts to its sign-in page).
    assert directives["form-action"] == ["'self'", "https://id.example.org"]


def test_every_answer_refuses_framing_sniffing_and_referrers() -> None:
    headers = headers_of("http://127.0.0.1:8000")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_hsts_only_when_served_over_tls() -> None:
    assert "strict-transport-security" not in headers_of("http://127.0.0.1:8000")
    over_tls = headers_of("https://hearth.derby.gov.uk")
    assert over_tls["strict-transport-security"].startswith("max-age=31536000")
    # Over TLS the session cookie takes the __Host- prefix (this host only, Secure, path /).
    assert cookie_name(settings("https://hearth.derby.gov.uk")).startswith("__Host-")
    assert not cookie_name(settings("http://127.0.0.1:8000")).startswith("__Host-")


@pytest.mark.parametrize(
    ("presented", "accepted"),
    [("the-token", True), ("the-toke", False), ("", False), (None, False), ("THE-TOKEN", False)],
)
def test_a_csrf_token_must_be_exactly_the_sessions(presented: str | None, accepted: bool) -> None:
    assert csrf_matches("the-token", presented) is accepted


def test_sealed_tokens_hold_nothing_in_clear_and_open_only_for_their_own_session() -> None:
    seal = TokenSeal("k" * 32)
    tokens = Tokens("access.jwt.value", "refresh.jwt.value", "id.jwt.value", 1.0e9)
    blob = seal.seal(tokens, "digest-a")
    assert "access.jwt.value" not in blob and "refresh" not in blob
    assert seal.open(blob, "digest-a") == tokens
    with pytest.raises(InvalidTag):  # moved to another session's document: does not open
        seal.open(blob, "digest-b")
    with pytest.raises(InvalidTag):  # another deployment's key
        TokenSeal("q" * 32).open(blob, "digest-a")
    with pytest.raises(ValueError, match="32"):
        TokenSeal("short")


@pytest.mark.parametrize(
    "asked",
    [
        "//evil.example",
        "//evil.example/cases",
        "https://evil.example",
        "http://evil.example/",
        "\\\\evil",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_a_sign_in_never_returns_to_another_site(asked: str) -> None:
    assert safe_return_to(asked) == "/"
