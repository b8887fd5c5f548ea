"""Settings of the web app: the shared ones plus its sign-in client and the APIs it calls."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import HearthSettings


class WebSettings(HearthSettings):
    web_public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the address people's browsers use for the web app (its sign-in callback "
        "is <this>/auth/callback); https:// makes cookies Secure and turns on HSTS",
    )
    web_oidc_discovery_url: str = Field(
        "",
        description="where the app itself reads the provider's discovery document, when that "
        "is not the issuer's own address (inside a container network); empty: the issuer's",
    )
    web_client_id: str = Field("hearth-web", description="the app's OpenID Connect client")
    web_client_secret: SecretStr = Field(
        SecretStr(""), description="that client's secret (a confidential client, with PKCE)"
    )
    web_services: dict[str, str] = Field(
        {},
        description="base URL of each service's API the app calls on the user's behalf, e.g. "
        '{"referral": "http://referral:8000", "outcomes": "http://outcomes:8000"}; the pages '
        "use referral, allocation, support, reconnection, notifications, audit, agreements, "
        "privacy and outcomes (the Outcomes and Statutory return pages)",
    )
    web_assets_dir: str = Field(
        "", description="GOV.UK Frontend, MOJ and htmx files; found in the cache if empty"
    )
    web_session_key: SecretStr = Field(
        SecretStr(""), description="seals the users' tokens in the session store (32+ chars)"
    )
    web_idle_minutes: int = Field(30, ge=1, le=480, description="signed out after this idle")
    web_session_hours: int = Field(10, ge=1, le=24, description="signed out after this anyway")
    web_api_timeout_seconds: float = 15.0

    @property
    def served_over_tls(self) -> bool:
        return self.web_public_url.startswith("https://")
