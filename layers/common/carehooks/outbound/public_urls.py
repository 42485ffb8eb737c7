"""Is an attachment URL one a platform may fetch for us: ``https``, and on a public address (pure core).

The platform (Meta, Telegram, Twilio) fetches an attachment's URL, not carehooks; still, a URL naming a
private, loopback, link-local or otherwise non-public address is refused, so the API can never be used
to point a platform (or, locally, the sandbox) at an internal service, and an agent's typo
(``http://intranet/...``) is caught before anything is sent.

Two steps:

- :func:`static_problem` (no network): the scheme is ``https``; there is a host; no user or password
  in the URL; the host is not ``localhost`` (or ``*.localhost``); an IP literal, in any form the
  resolver would accept (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``), is public.
- :func:`resolved_problem` (a name): every address the name resolves to is public. A name that does
  not exist is refused (the platform could not fetch it either); a lookup that times out or fails
  temporarily raises :class:`LookupUnavailableError` (the API answers 503: try again), never a pass.

"Public" is :attr:`ipaddress.IPv4Address.is_global` (IPv6 alike; an IPv4-mapped IPv6 address is judged
as its IPv4 address), and never multicast. The check is made when the reply is accepted; the platform
resolves the name again when it fetches, so a name whose records change in between (DNS rebinding) is
not caught here: this guards against mistakes and casual misuse, the platforms' own fetchers against
the rest.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
from collections.abc import Callable, Sequence
from functools import cache
from urllib.parse import urlsplit

LOOKUP_TIMEOUT = 2.0
MAX_URL_LENGTH = 2048

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]


class HostNotFoundError(Exception):
    """The name does not resolve (no such host, no address)."""


class LookupUnavailableError(Exception):
    """The lookup timed out or failed temporarily: the answer is not known."""


def host_of(url: str) -> str:
    """The URL's host, lower case, without brackets or a trailing dot ('' when there is none)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def static_problem(url: str) -> str | None:  # noqa: PLR0911 - one answer per rule
    """What makes ``url`` unacceptable without looking its name up (None: nothing yet)."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return "must be a valid URL"
    if parts.scheme.lower() != "https":
        return "must be an https URL"
    if any(char.isspace() for char in url) or not url.isprintable():
        return "must not contain spaces or control characters"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    host = host_of(url)
    if not host:
        return "must name a host"
    if host == "localhost" or host.endswith(".localhost"):
        return "must not point at localhost"
    literal = ip_literal(host)
    if literal is not None and not is_public(literal):
        return f"must not point at a private, loopback or otherwise non-public address ({literal})"
    return None


def ip_literal(host: str) -> IpAddress | None:
    """The address ``host`` spells, in any notation the system resolver accepts (None: it is a name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton takes the legacy IPv4 forms getaddrinfo also takes: 127.1, 2130706433, 0x7f.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_public(address: IpAddress) -> bool:
    """Whether ``address`` is on the public internet (not private, loopback, link-local, reserved…)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolved_problem(host: str, resolve: Resolver) -> str | None:
    """What makes ``host`` unacceptable once resolved (None: every address is public).

    Raises :class:`LookupUnavailableError` when the resolver cannot tell now.
    """
    if ip_literal(host) is not None:
        return None  # judged by static_problem
    try:
        found = list(resolve(host))
    except HostNotFoundError:
        return f"its host {host!r} does not resolve to an address"
    if not found:
        return f"its host {host!r} does not resolve to an address"
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return f"its host {host!r} resolves to an address that cannot be checked"
        if not is_public(address):
            return f"its host {host!r} resolves to a private, loopback or otherwise non-public address ({address})"
    return None


@cache
def _lookups() -> concurrent.futures.ThreadPoolExecutor:
    """The lookup threads, made on first use."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="url-lookup")


def resolve_host(host: str, timeout: float = LOOKUP_TIMEOUT) -> list[str]:
    """The addresses ``host`` resolves to, from the system resolver, within ``timeout`` seconds.

    ``getaddrinfo`` has no timeout of its own, so it runs on a worker thread that is abandoned (not
    waited for) when it takes too long.
    """
    future = _lookups().submit(socket.getaddrinfo, host, 443, proto=socket.IPPROTO_TCP)
    try:
        infos = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError as exc:
        raise LookupUnavailableError(f"looking up {host!r} took longer than {timeout:g} s") from exc
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            raise HostNotFoundError(host) from exc
        raise LookupUnavailableError(f"looking up {host!r} failed: {exc.strerror}") from exc
    except (OSError, UnicodeError) as exc:
        raise HostNotFoundError(host) from exc
    return [str(info[4][0]) for info in infos]
