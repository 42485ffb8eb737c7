"""Loading the configuration document: a file, an SSM parameter, or the packaged default.

Where it comes from, first match wins:

1. ``CAREHOOKS_CONFIG``: a YAML (or JSON) file path. Re-read when the file changes (the local stack).
2. ``CONFIG_PARAMETER``: an SSM parameter name, read through Powertools Parameters with a
   :data:`PARAMETER_MAX_AGE_SECONDS` cache, so a ``carehooks config push`` takes effect within a minute.
3. The packaged ``default.yaml``.

An invalid document is rejected with the path and reason of every error (:class:`ConfigError`): its
schema's, then those of the extra checks the loader was given (``checks``: functions of the validated
document returning ``(path, reason)`` pairs, for rules that need more than the schema knows, such as
the channels' text limits in ``carehooks.rules.templates``). A running
process that already has a valid document keeps it when the source turns invalid, and logs an error
each time it reads the invalid one; a process that never had one fails (fail closed: the records are
retried, then parked in the DLQ, where they wait for a fixed document).

Parameter values may be YAML, JSON, or ``gzip+base64:<data>`` (what ``config push`` writes when the
plain text is over the SSM size limit).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from carehooks.config.document import ConfigDocument
from carehooks.config.settings import settings
from carehooks.observability import logger

PARAMETER_MAX_AGE_SECONDS = 60
COMPRESSED_PREFIX = "gzip+base64:"
# The packaged default, beside this module (shipped in the layer).
DEFAULT_RESOURCE = "default.yaml"

# An extra check of a validated document: ``(path, reason)`` for each problem, none when it is usable.
Check = Callable[[ConfigDocument], list[tuple[str, str]]]


class ConfigError(ValueError):
    """A configuration document that cannot be used; ``errors`` lists ``(path, reason)`` pairs."""

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {path}: {reason}" for path, reason in errors)
        super().__init__(f"invalid configuration {source}:\n{lines}")


def decode_text(text: str) -> str:
    """The document text of a stored value (undoing ``gzip+base64:`` when present)."""
    if text.startswith(COMPRESSED_PREFIX):
        return gzip.decompress(base64.b64decode(text[len(COMPRESSED_PREFIX) :])).decode("utf-8")
    return text


def encode_compressed(text: str) -> str:
    return COMPRESSED_PREFIX + base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def parse_document(text: str, source: str = "<text>", checks: Sequence[Check] = ()) -> ConfigDocument:
    """Parse and validate a document (YAML or JSON), then run ``checks`` on it.

    Raises :class:`ConfigError` listing every problem.
    """
    try:
        data: Any = yaml.safe_load(decode_text(text))
    except (yaml.YAMLError, ValueError, OSError) as exc:
        raise ConfigError(source, [("(document)", f"not valid YAML/JSON: {exc}")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [("(document)", "the document must be a mapping of sections")])
    try:
        document = ConfigDocument.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _errors(exc)) from exc
    problems = [problem for check in checks for problem in check(document)]
    if problems:
        raise ConfigError(source, problems)
    return document


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for error in exc.errors(include_url=False):
        # Discriminated unions repeat the chosen tag in the location ("all", "all"; "field"): drop it.
        parts: list[str] = []
        for part in map(str, error["loc"]):
            if part == "field" or part.startswith("function-") or (parts and parts[-1] == part):
                continue
            parts.append(part)
        out.append((".".join(parts) or "(document)", error["msg"]))
    return out


def document_json(document: ConfigDocument) -> str:
    """The document as compact JSON with defaults left out (what ``config push`` stores)."""
    data = document.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _Cached:
    key: str
    document: ConfigDocument


class ConfigLoader:
    """Keeps the last valid document per source; see the module docstring."""

    def __init__(self, checks: Sequence[Check] = ()) -> None:
        self.checks = tuple(checks)
        self._lock = threading.Lock()
        self._last: _Cached | None = None

    def load(self) -> ConfigDocument:
        current = settings()
        if current.config_file:
            return self._from_file(Path(current.config_file))
        if current.config_parameter:
            return self._from_parameter(current.config_parameter)
        return default_document(self.checks)

    def _from_file(self, path: Path) -> ConfigDocument:
        try:
            stat = path.stat()
            key = f"file:{path}:{stat.st_mtime_ns}:{stat.st_size}"
        except OSError as exc:
            return self._keep_last(f"file {path}", ConfigError(str(path), [("(file)", str(exc))]))
        if self._last is not None and self._last.key == key:
            return self._last.document
        try:
            document = parse_document(path.read_text(encoding="utf-8"), str(path), self.checks)
        except (ConfigError, OSError) as exc:
            error = exc if isinstance(exc, ConfigError) else ConfigError(str(path), [("(file)", str(exc))])
            return self._keep_last(str(path), error)
        return self._remember(key, document, str(path))

    def _from_parameter(self, name: str) -> ConfigDocument:
        from aws_lambda_powertools.utilities import parameters

        try:
            text = parameters.get_parameter(name, max_age=PARAMETER_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            return self._keep_last(f"parameter {name}", ConfigError(name, [("(parameter)", str(exc))]))
        if not isinstance(text, str):
            text = str(text)
        key = "ssm:" + name + ":" + hashlib.sha256(text.encode()).hexdigest()
        if self._last is not None and self._last.key == key:
            return self._last.document
        try:
            document = parse_document(text, f"parameter {name}", self.checks)
        except ConfigError as exc:
            return self._keep_last(f"parameter {name}", exc)
        return self._remember(key, document, f"parameter {name}")

    def _remember(self, key: str, document: ConfigDocument, source: str) -> ConfigDocument:
        with self._lock:
            self._last = _Cached(key=key, document=document)
        logger.info("configuration loaded", extra={"source": source, "config_version": document.version})
        return document

    def _keep_last(self, source: str, error: ConfigError) -> ConfigDocument:
        logger.error(
            "configuration is invalid; keeping the last valid one"
            if self._last
            else "configuration is invalid",
            extra={"source": source, "errors": [f"{p}: {r}" for p, r in error.errors]},
        )
        if self._last is None:
            raise error
        return self._last.document


_loader = ConfigLoader()
_default: ConfigDocument | None = None


def default_document(checks: Sequence[Check] = ()) -> ConfigDocument:
    """The packaged default document (parsed, and checked, once per process)."""
    global _default
    if _default is None:
        text = resources.files("carehooks.config").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")
        _default = parse_document(text, "packaged default.yaml", checks)
    return _default


def use_checks(checks: Sequence[Check]) -> None:
    """Run ``checks`` on every document :func:`load_config` reads from now on (the composition point
    calls it once, e.g. with ``carehooks.rules.templates.CHECKS``)."""
    global _loader, _default
    _loader = ConfigLoader(checks)
    _default = None


def load_config() -> ConfigDocument:
    """The current configuration document (cheap to call per message: cached per source)."""
    return _loader.load()


def reset() -> None:
    """Forget every cached document (tests)."""
    global _loader, _default
    _loader = ConfigLoader(_loader.checks)
    _default = None
