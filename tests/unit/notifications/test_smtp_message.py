"""The email a delivery becomes, built without a server: what a reader's mail program shows,
and a header that would smuggle in another (a line break in an address or subject) refused."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtplib.email import flatten_message

from services.notifications.channels import DeliveryFailed, OutboundMessage
from services.notifications.channels.smtp import SmtpEmailChannel
from services.notifications.settings import NotificationSettings

SENDER = "hearth@derby.example"


MESSAGE = OutboundMessage(
    delivery_id="d-123",
    channel="email",
    address="casey.worker@derby.example",
    subject="New case allocated to you - case-a",
    body="Dear Casey,\n\nCase case-a was allocated to you.\n",
    template="case_allocated",
    provider_template_id="",
)


def outbound(**changes: Any) -> OutboundMessage:
    return replace(MESSAGE, **changes)


def as_received(message: OutboundMessage, sender: str = SENDER) -> EmailMessage:
    """The message as the server gets it, read back as a mail program reads it."""
    channel = SmtpEmailChannel(NotificationSettings(smtp_sender=sender))
    flat = flatten_message(channel.build(message))
    return cast(EmailMessage, message_from_bytes(flat, policy=policy.default))


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("to", {"address": "a@b.example\r\nBcc: someone@else.example"}),
        ("subject", {"subject": "Case closed\nBcc: someone@else.example"}),
        ("x-hearth-delivery", {"delivery_id": "d-1\rBcc: someone@else.example"}),
    ],
)
def test_a_line_break_in_a_header_is_refused_for_good_naming_it(
    field: str, changes: dict[str, str]
) -> None:
    channel = SmtpEmailChannel(NotificationSettings(smtp_sender=SENDER))
    with pytest.raises(DeliveryFailed, match=f"^smtp: {field}: ") as refused:
        channel.build(outbound(**changes))
    assert refused.value.permanent


def test_the_reader_sees_the_headers_and_text_as_written() -> None:
    received = as_received(outbound(subject="Café visit: case-a", body="Résumé: £1,234.50\n"))
    assert received["From"] == SENDER
    assert received["To"] == "casey.worker@derby.example"
    assert received["Subject"] == "Café visit: case-a"
    assert received["X-Hearth-Delivery"] == "d-123"
    assert received["Message-ID"].endswith(".d-123@hearth.local>")
    assert received.get_content().replace("\r\n", "\n") == "Résumé: £1,234.50\n"


def test_a_letter_travels_as_a_pdf_attachment_beside_the_text() -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256))
    received = as_received(outbound(pdf=pdf))
    assert received.get_body(("plain",)).get_content().startswith("Dear Casey,")
    (attachment,) = received.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "letter.pdf"
    assert attachment.get_content() == pdf


def test_a_display_name_is_encoded_and_the_address_left_as_it_is() -> None:
    received = as_received(outbound(), sender="Hearth Derby Café <hearth@derby.example>")
    (sender,) = received["From"].addresses
    assert sender.display_name == "Hearth Derby Café"
    assert sender.addr_spec == "hearth@derby.example"
