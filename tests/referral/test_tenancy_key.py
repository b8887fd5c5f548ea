"""The referral service makes tenancy ids only with a real key (issue 16): without
HEARTH_TENANCY_ID_KEY, or with a short one, it refuses to start and names the setting."""

from __future__ import annotations

import pytest

from services.referral.app import create_app
from shared.clock import ManualClock
from shared.ids import TenancyKeyError

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "HEARTH_TENANCY_ID_KEY: required"),
        ("a-short-secret", "HEARTH_TENANCY_ID_KEY: secret shorter than 32 characters"),
    ],
)
async def test_the_service_refuses_to_start_without_a_tenancy_key(
    make_settings, key: str, message: str
) -> None:
    app = create_app(make_settings("referral", tenancy_id_key=key), ManualClock(), False)
    runtime = app.state.runtime
    try:
        with pytest.raises(TenancyKeyError, match=message) as refused:
            await runtime.start()
        assert key == "" or key not in str(refused.value)  # the setting, never its value
    finally:
        await runtime.mongo.close()
