"""X-Hub-Signature-256: HMAC-SHA256 of the raw body bytes, lowercase hex, constant-time compare."""

from __future__ import annotations

import pytest

from carehooks.channels.meta.signature import sign, verify

SECRET = "test_app_secret"

# platforms.md §2.2 test vectors (secret ``test_app_secret``).
EMPTY_PAGE = b'{"object":"page","entry":[]}'
EMPTY_PAGE_HEADER = "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf"
ESCAPED_UNICODE = (
    b'{"object":"page","entry":[{"id":"112233445566778","time":1718000000000,'
    b'"messaging":[{"message":{"text":"\\u00e4\\u00f6\\u00e5"}}]}]}'
)
ESCAPED_UNICODE_HEADER = "sha256=87bac580b197fdb511cb5ebf545e545e14393015929c2e69bbe4d89f34f91c91"


@pytest.mark.parametrize(
    ("raw", "header"),
    [(EMPTY_PAGE, EMPTY_PAGE_HEADER), (ESCAPED_UNICODE, ESCAPED_UNICODE_HEADER)],
    ids=["empty-page", "escaped-unicode"],
)
def test_sign_matches_the_reference_vectors(raw: bytes, header: str) -> None:
    assert sign(raw, SECRET) == header


@pytest.mark.parametrize(
    ("raw", "header"),
    [(EMPTY_PAGE, EMPTY_PAGE_HEADER), (ESCAPED_UNICODE, ESCAPED_UNICODE_HEADER)],
    ids=["empty-page", "escaped-unicode"],
)
def test_the_reference_vectors_verify(raw: bytes, header: str) -> None:
    assert verify(raw, header, [SECRET])


def test_the_escaped_unicode_vector_is_plain_ascii_on_the_wire() -> None:
    # The vector's body holds the six characters \u00e4 as ASCII, not the UTF-8 of "ä".
    assert ESCAPED_UNICODE.isascii()
    assert b"\\u00e4\\u00f6\\u00e5" in ESCAPED_UNICODE


def test_re_encoding_the_parsed_body_as_utf8_breaks_the_signature() -> None:
    # The trap: decode the JSON escapes and hash the UTF-8 text instead of the bytes received.
    reencoded = ESCAPED_UNICODE.decode("unicode_escape").encode("utf-8")
    assert "äöå".encode() in reencoded
    assert not verify(reencoded, ESCAPED_UNICODE_HEADER, [SECRET])


def test_re_serialising_the_parsed_json_breaks_the_signature() -> None:
    import json

    reserialised = json.dumps(json.loads(ESCAPED_UNICODE), ensure_ascii=False, separators=(",", ":"))
    assert not verify(reserialised.encode(), ESCAPED_UNICODE_HEADER, [SECRET])


def test_uppercase_hex_in_the_header_is_accepted() -> None:
    prefix, digest = EMPTY_PAGE_HEADER.split("=", 1)
    assert verify(EMPTY_PAGE, f"{prefix}={digest.upper()}", [SECRET])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf",
        "5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf",
        "sha256=" + "0" * 64,
        EMPTY_PAGE_HEADER[:-1],
        "sha256=not-hex-at-all",
    ],
    ids=["missing", "empty", "no-digest", "sha1-prefix", "no-prefix", "zeros", "truncated", "garbage"],
)
def test_a_missing_or_wrong_header_never_verifies(header: str | None) -> None:
    assert not verify(EMPTY_PAGE, header, [SECRET])


def test_a_signature_with_another_secret_does_not_verify() -> None:
    assert not verify(EMPTY_PAGE, sign(EMPTY_PAGE, "another-secret"), [SECRET])


def test_one_changed_byte_does_not_verify() -> None:
    assert not verify(EMPTY_PAGE.replace(b"page", b"pagE"), EMPTY_PAGE_HEADER, [SECRET])


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]], ids=["none", "empty", "empties"])
def test_no_configured_secret_never_verifies(secrets: list[str]) -> None:
    # Even a header computed with the empty key must fail: an empty secret is "not configured".
    assert not verify(EMPTY_PAGE, sign(EMPTY_PAGE, ""), secrets)


def test_any_of_several_live_secrets_verifies() -> None:
    header = sign(EMPTY_PAGE, "instagram-login-secret")
    assert verify(EMPTY_PAGE, header, [SECRET, "instagram-login-secret"])
    assert not verify(EMPTY_PAGE, header, [SECRET])


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # hmac.compare_digest is the constant-time compare; a plain == would leak the digest by timing.
    import hmac

    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify(EMPTY_PAGE, EMPTY_PAGE_HEADER, [SECRET])
    assert calls == [(EMPTY_PAGE_HEADER[len("sha256=") :], EMPTY_PAGE_HEADER[len("sha256=") :])]
