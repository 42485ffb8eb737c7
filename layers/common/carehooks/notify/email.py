"""Send one email through SES v2: a MIME ``multipart/alternative`` with a plain-text and an HTML part.

The sender is ``MAIL_FROM`` (a verified SES identity). Failures are raised as :class:`EmailError`
(:class:`EmailThrottledError` when SES asks to slow down) so callers can release what they claimed and
retry later; botocore exceptions never leave this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import TYPE_CHECKING

from carehooks import clock
from carehooks.config.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)


class EmailError(Exception):
    """The email was not sent (it may be retried)."""


class EmailThrottledError(EmailError):
    """SES refused for now: sending rate or daily quota exceeded."""


def build_message(
    sender: str, to: Sequence[str], subject: str, html: str, text: str, at: datetime | None = None
) -> EmailMessage:
    """The MIME message: text first, HTML last (mail clients show the last part they can render).

    ``Date`` is ``at``, by default the one clock's now (so moved clocks date their mail consistently).
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(at or clock.now())
    domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "carehooks.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def send_email(
    to: Sequence[str],
    subject: str,
    html: str,
    text: str,
    *,
    sender: str | None = None,
    client: SESV2Client | None = None,
) -> str:
    """Send one email to every address in ``to``; the SES message id.

    Raises :class:`EmailThrottledError` or :class:`EmailError`.
    """
    if not to:
        raise EmailError("no recipients")
    if sender is None:
        sender = settings().mail_from
    return send_message(build_message(sender, to, subject, html, text), to, client=client)


def send_message(message: EmailMessage, to: Sequence[str], *, client: SESV2Client | None = None) -> str:
    """Send a prepared MIME message (raw, from its ``From``) to every address in ``to``; the SES message id.

    The one SES call of the package: botocore's errors become :class:`EmailThrottledError` (SES asks to
    slow down) or :class:`EmailError`.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    ses = client or sesv2_client()
    try:
        response = ses.send_email(
            FromEmailAddress=str(message["From"]),
            Destination={"ToAddresses": list(to)},
            Content={"Raw": {"Data": message.as_bytes()}},
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            raise EmailThrottledError(f"SES throttled: {code}") from exc
        raise EmailError(f"SES refused: {code}: {exc.response.get('Error', {}).get('Message', '')}") from exc
    except BotoCoreError as exc:
        raise EmailError(f"SES unreachable: {exc}") from exc
    return response["MessageId"]


@cache
def sesv2_client() -> SESV2Client:
    """One SES v2 client per process, created on first use (never at import)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sesv2",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )
