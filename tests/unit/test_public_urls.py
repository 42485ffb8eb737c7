"""Attachment URLs: https only, never a private, loopback, link-local or otherwise non-public address
(literals in every notation, and names by what they resolve to, with an injected resolver), and the
reply request model that applies the checks."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from carehooks.api.media import attachment_out
from carehooks.api.models import ReplyRequest
from carehooks.outbound import public_urls
from carehooks.outbound.public_urls import (
    HostNotFoundError,
    LookupUnavailableError,
    is_public,
    resolve_host,
    resolved_problem,
    static_problem,
)

NON_PUBLIC_V4 = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local, the cloud metadata address among them
    "100.64.0.0/10",  # carrier-grade NAT
    "0.0.0.0/8",
    "192.0.2.0/24",  # documentation
    "198.18.0.0/15",  # benchmarking
    "240.0.0.0/4",  # reserved
    "224.0.0.0/4",  # multicast
]
NON_PUBLIC_V6 = ["::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "2001:db8::/32"]


def addresses_in(networks: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    def pick(network: str) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        net = ipaddress.ip_network(network)
        return st.integers(0, net.num_addresses - 1).map(lambda offset: net[offset])

    return st.sampled_from(networks).flatmap(pick)


def url_for(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"https://{host}/photo.jpg"


@given(addresses_in(NON_PUBLIC_V4) | addresses_in(NON_PUBLIC_V6))
def test_a_non_public_ip_literal_is_refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    problem = static_problem(url_for(address))
    assert problem is not None
    assert "non-public address" in problem


@given(addresses_in(NON_PUBLIC_V4))
def test_an_ipv4_mapped_ipv6_literal_is_judged_as_its_ipv4_address(address: ipaddress.IPv4Address) -> None:
    assert static_problem(f"https://[::ffff:{address}]/x.png") is not None


@given(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda a: a.is_global and not a.is_multicast)
)
def test_a_public_ip_literal_passes_without_any_lookup(address: ipaddress.IPv4Address) -> None:
    assert static_problem(url_for(address)) is None

    def no_lookup(host: str) -> Sequence[str]:
        raise AssertionError("a literal is never looked up")

    assert resolved_problem(str(address), no_lookup) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.1/x.png",  # the short forms the resolver also takes
        "https://2130706433/x.png",
        "https://0x7f000001/x.png",
        "https://0x7f.0.0.1/x.png",
        "https://017700000001/x.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x.png",
        "https://localhost/x.png",
        "https://LOCALHOST./x.png",
        "https://printer.localhost/x.png",
    ],
)
def test_loopback_and_metadata_addresses_are_refused_in_every_notation(url: str) -> None:
    assert static_problem(url) is not None


@given(st.sampled_from(["http", "ftp", "file", "gopher", "data", "javascript", "ws", "HTTP", ""]))
def test_only_https_is_accepted(scheme: str) -> None:
    problem = static_problem(f"{scheme}://cdn.example.com/photo.jpg" if scheme else "//cdn.example.com/x.jpg")
    assert problem == "must be an https URL"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:secret@cdn.example.com/x.jpg", "must not carry a user name or password"),
        ("https:///x.jpg", "must name a host"),
        ("https://cdn.example.com:99999/x.jpg", "must be a valid URL"),
        ("https://cdn.example.com/a b.jpg", "must not contain spaces or control characters"),
        ("https://cdn.example.com/" + "a" * 2048, "must be at most 2048 characters"),
    ],
)
def test_malformed_urls_say_what_is_wrong(url: str, reason: str) -> None:
    assert static_problem(url) == reason


def test_https_urls_on_names_pass_the_static_check() -> None:
    assert static_problem("https://cdn.example.com/photos/box.jpg?size=large") is None
    assert static_problem("HTTPS://CDN.example.com:8443/x.jpg") is None


# -- names: judged by what they resolve to (the resolver is injected: no network) ------------------------
def resolver(table: dict[str, list[str]]) -> public_urls.Resolver:
    def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise HostNotFoundError(host)
        return table[host]

    return resolve


@given(addresses_in(NON_PUBLIC_V4) | addresses_in(NON_PUBLIC_V6))
@settings(max_examples=50)
def test_a_name_resolving_to_any_non_public_address_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    resolve = resolver({"cdn.example.com": ["93.184.215.14", str(address)]})
    problem = resolved_problem("cdn.example.com", resolve)
    assert problem is not None
    assert str(address) in problem


def test_a_name_resolving_only_to_public_addresses_passes() -> None:
    resolve = resolver({"cdn.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    assert resolved_problem("cdn.example.com", resolve) is None


def test_a_name_that_does_not_resolve_is_refused() -> None:
    problem = resolved_problem("nowhere.invalid", resolver({}))
    assert problem == "its host 'nowhere.invalid' does not resolve to an address"
    assert resolved_problem("empty.example.com", resolver({"empty.example.com": []})) is not None


def test_a_lookup_that_cannot_answer_now_is_not_a_pass() -> None:
    def unavailable(host: str) -> Sequence[str]:
        raise LookupUnavailableError(host)

    with pytest.raises(LookupUnavailableError):
        resolved_problem("cdn.example.com", unavailable)


def test_is_public_never_takes_multicast_or_mapped_private() -> None:
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("239.1.1.1"))
    assert is_public(ipaddress.ip_address("::ffff:93.184.215.14"))


# -- the system resolver, with its short timeout (getaddrinfo replaced: no network) -------------------------
def test_the_system_resolver_returns_the_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(host: str, port: int, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert resolve_host("cdn.example.com") == ["93.184.215.14"]


@pytest.mark.parametrize(
    ("errno", "raised"),
    [(socket.EAI_NONAME, HostNotFoundError), (socket.EAI_AGAIN, LookupUnavailableError)],
)
def test_the_system_resolver_tells_no_such_host_from_try_again(
    monkeypatch: pytest.MonkeyPatch, errno: int, raised: type[Exception]
) -> None:
    def fake(host: str, port: int, **kwargs: object) -> list[tuple[object, ...]]:
        raise socket.gaierror(errno, "resolver says no")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(raised):
        resolve_host("cdn.example.com")


def test_a_slow_lookup_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(host: str, port: int, **kwargs: object) -> list[tuple[object, ...]]:
        time.sleep(0.5)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(LookupUnavailableError):
        resolve_host("cdn.example.com", timeout=0.05)
    assert time.monotonic() - started < 0.4


# -- the reply request model ------------------------------------------------------------------------------
texts = st.none() | st.text(min_size=1, max_size=50)
urls = st.sampled_from(
    [
        "https://cdn.example.com/a.jpg",
        "https://93.184.215.14/b.pdf",
        "http://cdn.example.com/c.jpg",
        "https://10.1.2.3/d.jpg",
        "https://localhost/e.jpg",
        "ftp://cdn.example.com/f.jpg",
        "https://[fe80::1]/g.jpg",
    ]
)
attachments = st.lists(
    st.fixed_dictionaries({"url": urls, "type": st.sampled_from(["image", "file", "video"])}), max_size=12
)


@given(texts, attachments)
@settings(max_examples=300)
def test_a_reply_is_accepted_exactly_when_it_has_content_and_every_attachment_is_acceptable(
    text: str | None, files: list[dict[str, str]]
) -> None:
    body: dict[str, object] = {"attachments": files}
    if text is not None:
        body["text"] = text
    good_text = text is None or bool(text.strip())
    good_files = len(files) <= 10 and all(
        f["type"] in ("image", "file") and static_problem(f["url"]) is None for f in files
    )
    has_content = text is not None or bool(files)
    try:
        parsed = ReplyRequest.model_validate(body)
    except ValidationError:
        assert not (good_text and good_files and has_content)
        return
    assert good_text
    assert good_files
    assert has_content
    assert [a.url for a in parsed.attachments] == [f["url"] for f in files]
    assert all(a.url.startswith("https://") for a in parsed.attachments)


def test_a_reply_with_neither_text_nor_attachments_names_the_text() -> None:
    with pytest.raises(ValidationError) as caught:
        ReplyRequest.model_validate({})
    (error,) = caught.value.errors()
    assert error["loc"] == ("text",)
    assert "give a text, attachments, or both" in error["msg"]
    with pytest.raises(ValidationError):
        ReplyRequest.model_validate({"attachments": []})


def test_bad_attachments_are_reported_once_not_as_a_missing_text() -> None:
    with pytest.raises(ValidationError) as caught:
        ReplyRequest.model_validate(
            {"attachments": [{"url": "http://cdn.example.com/a.jpg", "type": "image"}]}
        )
    assert [e["loc"] for e in caught.value.errors()] == [("attachments", 0, "url")]


def test_an_attachment_needs_its_type_and_nothing_else() -> None:
    with pytest.raises(ValidationError):
        ReplyRequest.model_validate({"attachments": [{"url": "https://cdn.example.com/a.jpg"}]})
    with pytest.raises(ValidationError):
        ReplyRequest.model_validate(
            {"attachments": [{"url": "https://cdn.example.com/a.jpg", "type": "image", "caption": "x"}]}
        )


# -- inbound attachments as the resource shows them ---------------------------------------------------------
def test_stored_attachments_are_shown_with_type_and_url_and_keep_their_fields() -> None:
    meta = attachment_out({"kind": "image", "url": "https://scontent.xx.fbcdn.net/v/x.jpg"})
    assert (meta.type, meta.url, meta.kind) == ("image", "https://scontent.xx.fbcdn.net/v/x.jpg", "image")
    twilio = attachment_out({"kind": "media", "url": "https://api.twilio.com/m/1", "mime_type": "image/jpeg"})
    assert (twilio.type, twilio.kind, twilio.mime_type) == ("image", "media", "image/jpeg")
    pdf = attachment_out(
        {"kind": "media", "url": "https://api.twilio.com/m/2", "mime_type": "application/pdf"}
    )
    assert pdf.type == "file"
    whatsapp = attachment_out(
        {"kind": "document", "media_id": "1013859600285441", "mime_type": "application/pdf"}
    )
    assert (whatsapp.type, whatsapp.url, whatsapp.media_id) == ("document", None, "1013859600285441")
