"""Email over SMTP (aiosmtplib); a rendered letter travels as a PDF attachment."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from services.notifications.channels import DeliveryFailed, OutboundMessage
from services.notifications.settings import NotificationSettings


class SmtpEmailChannel:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    def build(self, message: OutboundMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.smtp_sender
        email["To"] = message.address
        email["Subject"] = message.subject
        # The delivery id doubles as Message-ID, so a resend after a crash is recognisable.
        email["Message-ID"] = make_msgid(idstring=message.delivery_id, domain="hearth.local")
        email["X-Hearth-Delivery"] = message.delivery_id
        email.set_content(message.body)
        if message.pdf is not None:
            email.add_attachment(
                message.pdf, maintype="application", subtype="pdf", filename="letter.pdf"
            )
        return email

    async def send(self, message: OutboundMessage) -> str:
        email = self.build(message)
        s = self.settings
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"smtp: recipient refused ({exc})", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is a permanent refusal; 4xx is the server asking us to try again later.
            raise DeliveryFailed(f"smtp: {exc.code} {exc.message}", exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"smtp: {type(exc).__name__}: {exc}") from exc
        return str(email["Message-ID"])
