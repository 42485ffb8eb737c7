"""Knobs of the local stack and the local values of the platform secret.

Everything here is read from the environment, then from the ``.env`` file at the project root (the
environment wins). The same defaults are used by ``carehooks replay`` to sign bodies, so a fresh clone
works with no configuration at all.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# Names of the platform secret (design §3). Local defaults are fake and only good on this machine.
SECRET_DEFAULTS: dict[str, str] = {
    "META_APP_SECRET": "local-meta-app-secret",
    "META_VERIFY_TOKEN": "local-meta-verify-token",
    "META_ACCESS_TOKEN": "local-meta-access-token",
    "X_CONSUMER_SECRET": "local-x-consumer-secret",
    "X_ACCESS_TOKEN": "local-x-access-token",
    "TELEGRAM_BOT_TOKEN": "123456789:local-telegram-bot-token",
    "TELEGRAM_SECRET_TOKEN": "local-telegram-secret-token",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
    "TWILIO_AUTH_TOKEN": "local-twilio-auth-token",
}

# Outbound base URLs: when not set, the stack points them at its own sandbox (``/_sandbox/<name>``).
OUTBOUND_URLS: dict[str, str] = {
    "META_GRAPH_URL": "meta",
    "X_API_URL": "x",
    "TELEGRAM_API_URL": "telegram",
    "TWILIO_API_URL": "twilio",
}

# Prefixes of variables that belong in the platform secret when set in the environment (e.g.
# per-page tokens such as META_ACCESS_TOKEN_112233445566778).
SECRET_PREFIXES = ("META_", "X_", "TELEGRAM_", "TWILIO_")

# Variables of the local stack itself; never copied into the secret.
STACK_KNOBS = {
    "PORT",
    "AWS_DEFAULT_REGION",
    "CAREHOOKS_CONFIG",
    "CAREHOOKS_LOCAL_DIR",
    "CAREHOOKS_ENV_FILE",
    "CAREHOOKS_URL",
    "CAREHOOKS_TEMPLATE",
}

# The survey-link key (carehooks.surveys.token reads it under this name from SurveySigningSecret).
SURVEY_KEY_NAME = "SURVEY_SIGNING_KEY"
SURVEY_KEY_MIN_CHARS = 16

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def env_file() -> Path:
    """The ``.env`` file: ``CAREHOOKS_ENV_FILE`` or ``<project>/.env``."""
    return Path(os.environ.get("CAREHOOKS_ENV_FILE") or ROOT / ".env")


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, optional quotes and ``export``); a missing file is empty."""
    path = path or env_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def lookup(name: str, default: str = "") -> str:
    """A setting: the environment, else the ``.env`` file, else ``default``."""
    value = os.environ.get(name)
    if value is not None and value != "":
        return value
    return read_env_file().get(name, default) or default


def _int(name: str, default: int) -> int:
    raw = lookup(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _flag(name: str, default: bool) -> bool:
    return lookup(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class LocalSettings:
    """Every knob of the local stack (see infra/local/README.md for what each one does)."""

    port: int = 3000
    host: str = "127.0.0.1"
    template: Path = field(default_factory=lambda: ROOT / "template.yaml")
    data_dir: Path = field(default_factory=lambda: ROOT / ".local")
    region: str = "us-east-1"
    stack_name: str = "carehooks-local"
    dynamodb: str = "auto"  # auto | local | moto
    visibility_timeout: int | None = None
    concurrency: int = 2
    prewarm: bool = True
    reload: bool = True
    scheduler: bool = True
    tick_seconds: float = 1.0
    passthrough: tuple[str, ...] = ("CAREHOOKS_CONFIG", "POWERTOOLS_DEV")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def clock_file(self) -> Path:
        return self.data_dir / "clock.json"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def outbox_file(self) -> Path:
        return self.data_dir / "outbox.jsonl"

    @property
    def dynamodb_dir(self) -> Path:
        return self.data_dir / "dynamodb"

    @property
    def jwt_secret_file(self) -> Path:
        return self.data_dir / "jwt-secret"

    @property
    def survey_signing_key_file(self) -> Path:
        return self.data_dir / "survey-signing-key"


def load() -> LocalSettings:
    """Settings from the environment and ``.env``."""
    data_dir = Path(lookup("CAREHOOKS_LOCAL_DIR", str(ROOT / ".local"))).resolve()
    visibility = lookup("LOCAL_VISIBILITY_TIMEOUT", "")
    extra = tuple(n.strip() for n in lookup("LOCAL_PASSTHROUGH_ENV", "").split(",") if n.strip())
    return LocalSettings(
        port=_int("PORT", 3000),
        template=Path(lookup("CAREHOOKS_TEMPLATE", str(ROOT / "template.yaml"))).resolve(),
        data_dir=data_dir,
        region=lookup("AWS_DEFAULT_REGION", "us-east-1"),
        stack_name=lookup("LOCAL_STACK_NAME", "carehooks-local"),
        dynamodb=lookup("LOCAL_DYNAMODB", "auto").lower(),
        visibility_timeout=int(visibility) if visibility else None,
        concurrency=max(1, _int("LOCAL_CONCURRENCY", 2)),
        prewarm=_flag("LOCAL_PREWARM", True),
        reload=_flag("LOCAL_RELOAD", True),
        scheduler=_flag("LOCAL_SCHEDULER", True),
        passthrough=("CAREHOOKS_CONFIG", "POWERTOOLS_DEV", *extra),
    )


def survey_signing_key(path: Path) -> str:
    """The key that signs survey links on this machine (what ``SurveySigningSecret`` holds in AWS).

    ``SURVEY_SIGNING_KEY`` (environment, else ``.env``) when set; otherwise a random key made on first
    start and kept in ``path`` (mode 0600), so links sent before a restart keep working after it.
    """
    configured = lookup(SURVEY_KEY_NAME)
    if configured:
        if len(configured) < SURVEY_KEY_MIN_CHARS:
            raise SystemExit(f"{SURVEY_KEY_NAME} must be at least {SURVEY_KEY_MIN_CHARS} characters")
        return configured
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if len(kept) >= SURVEY_KEY_MIN_CHARS:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.chmod(path, 0o600)  # an existing (empty) file keeps its mode through O_CREAT
    return value


def secret_values(base_url: str) -> dict[str, str]:
    """The platform secret as the local stack seeds it.

    Local defaults, then every non-knob entry of ``.env``, then matching environment variables.
    Outbound base URLs not set anywhere point at the stack's sandbox; ``PUBLIC_BASE_URL`` defaults to
    the stack's own URL (Twilio signatures and survey links are computed over it).
    """
    values = dict(SECRET_DEFAULTS)
    for key, value in read_env_file().items():
        if key not in STACK_KNOBS and not key.startswith("LOCAL_"):
            values[key] = value
    for key, value in os.environ.items():
        if value and (key == "PUBLIC_BASE_URL" or key in OUTBOUND_URLS or key.startswith(SECRET_PREFIXES)):
            values[key] = value
    # The survey key has its own secret (SurveySigningSecret), as in AWS: one place, one value.
    values.pop(SURVEY_KEY_NAME, None)
    if not values.get("PUBLIC_BASE_URL"):
        values["PUBLIC_BASE_URL"] = base_url
    for key, sandbox in OUTBOUND_URLS.items():
        if not values.get(key):
            values[key] = f"{base_url}/_sandbox/{sandbox}"
    return values


def sandboxed(values: dict[str, str], base_url: str) -> list[str]:
    """Names of the outbound platforms whose base URL points at the sandbox."""
    return [name for key, name in OUTBOUND_URLS.items() if values.get(key, "").startswith(base_url)]


ERASURE_KEY_NAME = "ERASURE_KEY"


def erasure_key(path: Path) -> str:
    """The key of erasure tombstones' digests on this machine (what ``ErasureKeySecret`` holds in AWS):
    ``ERASURE_KEY`` (environment, else ``.env``) when set, else a random key made on first start and kept
    in ``path`` (mode 0600), so a tombstone written before a restart still stops an old webhook after it."""
    configured = lookup(ERASURE_KEY_NAME)
    if configured:
        return configured
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value
