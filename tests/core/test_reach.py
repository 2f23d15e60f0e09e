"""The one rule on which hosts may be reached."""

from __future__ import annotations

import pytest

from app.core.errors import PrivacyBlocked, ProviderError
from app.core.reach import MODEL_HUB_URL, NetworkPolicy, Refusal, may_reach


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/v1", "http://127.0.0.1:1234/v1", "http://[::1]:11434/v1"]
)
def test_loopback_is_reachable_even_in_private_mode_and_over_plain_http(url):
    assert may_reach(url, private_mode=True).allowed


def test_private_mode_refuses_a_remote_host_naming_it():
    reach = may_reach("https://api.openai.com/v1", private_mode=True)
    assert reach.refusal is Refusal.PRIVATE_MODE
    assert "api.openai.com" in reach.reason
    assert isinstance(reach.error(), PrivacyBlocked)
    with pytest.raises(PrivacyBlocked):
        reach.enforce()


def test_a_trusted_host_passes_private_mode_and_no_other():
    trusted = ["Box.Example.com"]
    assert may_reach("https://box.example.com/v1", private_mode=True, trusted_hosts=trusted).allowed
    assert not may_reach(
        "https://other.example.com", private_mode=True, trusted_hosts=trusted
    ).allowed


def test_private_mode_off_lets_https_through():
    assert may_reach("https://api.openai.com/v1", private_mode=False).allowed


def test_plain_http_to_a_remote_host_is_refused_whatever_the_mode():
    for private in (True, False):
        reach = may_reach("http://api.example.com/v1", private_mode=private)
        assert reach.refusal is Refusal.PLAIN_HTTP
        assert isinstance(reach.error(), ProviderError)
        assert not isinstance(reach.error(), PrivacyBlocked)


def test_plain_http_is_refused_even_to_a_trusted_host():
    reach = may_reach("http://box.lan/v1", private_mode=False, trusted_hosts=["box.lan"])
    assert reach.refusal is Refusal.PLAIN_HTTP


@pytest.mark.parametrize("url", ["", "ftp://example.com", "api.openai.com/v1", "https://"])
def test_what_is_not_a_web_address_is_refused(url):
    assert may_reach(url, private_mode=False).refusal is Refusal.NOT_A_URL


def test_the_policy_judges_downloads_by_the_model_hub():
    assert not NetworkPolicy(private_mode=True).may_reach(MODEL_HUB_URL).allowed
    assert NetworkPolicy(private_mode=False).may_reach(MODEL_HUB_URL).allowed
    trusted = NetworkPolicy(private_mode=True, trusted_hosts=frozenset({"huggingface.co"}))
    assert trusted.may_reach(MODEL_HUB_URL).allowed
