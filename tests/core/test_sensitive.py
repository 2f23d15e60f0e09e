from __future__ import annotations

import time

import pytest

from app.core.sensitive import describe, redact, scan


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "API key"),
        ("anthropic sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz", "API key"),
        ("groq gsk_AbCdEfGhIjKlMnOpQrStUvWx", "API key"),
        ("google AIzaSyA-AbCdEfGhIjKlMnOpQrStUvWxYz01234", "API key"),
        ("aws AKIAIOSFODNN7EXAMPLE", "API key"),
        ("github ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "API key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "private key"),
        ("db at postgres://admin:hunter2@db.example.com/prod", "password in a URL"),
        ("write to ana.lopez@example.org today", "e-mail address"),
        ("card 4111-1111-1111-1111 please", "card number"),
        ("call +44 20 7946 0958", "phone number"),
        ("call (415) 555-0132", "phone number"),
    ],
)
def test_sensitive_things_are_found(text, kind):
    assert [f.kind for f in scan(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "The year 2024 had 366 days.",
        "Order 1234 5678 9012 3456 is not a card (fails Luhn).",
        "pi is 3.14159265358979",
        "see https://example.com/docs and http://localhost:8080/v1",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert scan(text) == []


def test_redact_replaces_each_finding_and_describe_counts_them():
    text = "a@b.co and c@d.co, card 4111 1111 1111 1111"
    assert redact(text) == (
        "[e-mail address removed] and [e-mail address removed], card [card number removed]"
    )
    assert describe(scan(text)) == "2 e-mail addresses and a card number"


@pytest.mark.parametrize(
    "unit",
    ["a.", "sk-", "a@", "a://b:c", "-----BEGIN RSA PRIVATE KEY-----\n", "1-", "eyJaaaaaaaaaaaa.",
     "+1 ", "ana@example.org ", "x@a.a."],
)  # fmt: skip
def test_scanning_adversarial_text_takes_linear_time(unit):
    """200 KB of text built to make a backtracking pattern retry from every position:
    the quadratic scanner took minutes on it; a linear one takes a fraction of a second."""
    text = (unit * (200_000 // len(unit) + 1))[:200_000]
    started = time.perf_counter()
    scan(text)
    assert time.perf_counter() - started < 5.0


def test_findings_in_a_long_text_are_the_same_as_in_its_parts():
    part = (
        "mail ana@example.org, key sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345, "
        "card 4111 1111 1111 1111. "
    )
    findings = scan(part * 2000)
    assert len(findings) == 3 * 2000
    assert redact(part * 3) == (
        "mail [e-mail address removed], key [API key removed], card [card number removed]. " * 3
    )
