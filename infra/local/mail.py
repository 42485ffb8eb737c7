"""Emails sent through SES (moto) become ``.eml`` files under ``.local/mail``.

moto keeps sent messages in memory; a watcher copies each new one to
``.local/mail/<timestamp>-<n>.eml`` (raw MIME as sent for ``Content.Raw``/``SendRawEmail``, a rebuilt
message for ``Content.Simple``/``SendEmail``), so mail survives restarts and opens in any mail client.
``GET /_local/mail`` lists the folder, oldest first.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Any

from infra.local.resolver import ACCOUNT_ID

_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6})-(?P<n>\d+)\.eml$")


def _addresses(values: list[str]) -> list[str]:
    return [address for _, address in getaddresses(values) if address]


class MailFolder:
    """The ``.eml`` files of the local stack and the watcher that writes them."""

    def __init__(
        self, folder: Path, region: str, now: Callable[[], datetime], iso: Callable[[datetime], str]
    ) -> None:
        self.folder = folder
        self.region = region
        self.now = now
        self.iso = iso
        self._seen = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _next_number(self) -> int:
        numbers = [int(m.group("n")) for p in self.folder.glob("*.eml") if (m := _NAME.match(p.name))]
        return max(numbers, default=0) + 1

    def collect(self) -> list[Path]:
        """Write every message moto accepted since the last call; returns the new files."""
        from moto.ses.models import RawMessage, ses_backends

        backend = ses_backends[ACCOUNT_ID][self.region]
        with self._lock:
            sent = list(backend.sent_messages)
            new, self._seen = sent[self._seen :], len(sent)
            written: list[Path] = []
            for message in new:
                at = self.now()
                if isinstance(message, RawMessage):
                    raw = message.raw_data.encode("utf-8")
                    if message_from_bytes(raw, policy=policy.default)["Date"] is None:
                        raw = f"Date: {format_datetime(at)}\r\n".encode() + raw
                else:
                    raw = self._rebuild(message, at)
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.folder / f"{at.strftime('%Y%m%dT%H%M%S')}-{self._next_number()}.eml"
                path.write_bytes(raw)
                written.append(path)
            return written

    @staticmethod
    def _rebuild(message: Any, at: datetime) -> bytes:
        email = EmailMessage()
        email["From"] = message.source
        destinations = getattr(message, "destinations", {}) or {}
        if isinstance(destinations, dict):
            for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
                if destinations.get(key):
                    email[header] = ", ".join(destinations[key])
        email["Subject"] = getattr(message, "subject", "") or getattr(message, "template", "")
        email["Date"] = format_datetime(at)
        email["Message-ID"] = make_msgid(domain="carehooks.local")
        body = str(getattr(message, "body", "") or getattr(message, "template_data", ""))
        if body.lstrip().startswith("<"):
            email.set_content(body, subtype="html")
        else:
            email.set_content(body)
        return email.as_bytes()

    def items(self) -> list[dict[str, Any]]:
        """``{"file", "from", "to", "subject", "at"}`` per email, oldest first."""
        self.collect()
        entries: list[tuple[int, Path]] = []
        for path in self.folder.glob("*.eml"):
            match = _NAME.match(path.name)
            if match:
                entries.append((int(match.group("n")), path))
        out: list[dict[str, Any]] = []
        for _, path in sorted(entries):
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            at = ""
            with contextlib.suppress(TypeError, ValueError):
                at = self.iso(parsedate_to_datetime(str(parsed["Date"])))
            out.append(
                {
                    "file": str(path),
                    "from": str(parsed["From"] or ""),
                    "to": _addresses([str(v) for v in parsed.get_all("To", [])]),
                    "subject": str(parsed["Subject"] or ""),
                    "at": at,
                }
            )
        return out

    def clear(self) -> None:
        with self._lock:
            for path in self.folder.glob("*.eml"):
                path.unlink(missing_ok=True)

    def watch(self, say: Callable[[str], None]) -> None:
        """Copy new mail every 0.3 s until :meth:`stop` (run in a thread)."""
        while not self._stop.wait(0.3):
            with contextlib.suppress(Exception):
                for path in self.collect():
                    say(f"MAIL {path}")

    def stop(self) -> None:
        self._stop.set()
