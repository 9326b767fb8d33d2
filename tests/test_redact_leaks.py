"""``--redact`` leaks a black-box review found: RFC 5321 IPv6 address literals, wildcard certificate
names, zero-padded IPv4 addresses, IPv6 zone ids (kept, on purpose), quoted local parts and a URL's
user name and password."""

from __future__ import annotations

import re

import pytest

from scanner.redact import Redactor

MASK = re.compile(r"\b(?:email|ip|host)-[0-9a-f]{6}\b")


@pytest.fixture
def r() -> Redactor:
    return Redactor(keep=["exch01.contoso.local"], key=b"k" * 16)


def _shape(masked: str) -> str:
    return re.sub(r"\b(email|ip|host)-[0-9a-f]{6}\b", r"\1-*", masked)


@pytest.mark.parametrize(
    ("text", "expected", "address"),
    [
        ("EHLO [IPv6:2001:db8::5]", "EHLO [IPv6:ip-*]", "2001:db8::5"),
        ("[IPv6:2001:db8:0:0:0:0:0:9]", "[IPv6:ip-*]", "2001:db8::9"),
        ("IPv6:fe80::2", "IPv6:ip-*", "fe80::2"),
        ("EHLO [IPv6:::1]", "EHLO [IPv6:ip-*]", "::1"),
        ("ehlo [ipv6:::1]", "ehlo [ipv6:ip-*]", "::1"),
    ],
)
def test_an_smtp_ipv6_address_literal_is_masked_keeping_its_tag(
    r: Redactor, text: str, expected: str, address: str
) -> None:
    masked = r.text(text)
    assert _shape(masked) == expected
    assert MASK.search(masked).group() == r.text(address)  # type: ignore[union-attr]  # same as the bare address


def test_an_address_literal_in_an_email_address_masks_the_whole_address(r: Redactor) -> None:
    assert _shape(r.text("RCPT TO:<postmaster@[IPv6:2001:db8::1]>")) == "RCPT TO:<email-*>"
    assert _shape(r.text("RCPT TO:<postmaster@10.0.0.1>")) == "RCPT TO:<email-*>"
    assert _shape(r.text("from a@10.0.0.1.")) == "from email-*."


def test_a_wildcard_certificate_name_is_masked_as_its_host(r: Redactor) -> None:
    masked = r.text("['host-abc', '*.hidden.contoso.com']")
    assert _shape(masked) == "['host-abc', '*.host-*']"
    assert "hidden" not in masked and "contoso" not in masked
    assert r.text("*.hidden.contoso.com") == "*." + r.text("hidden.contoso.com")
    assert _shape(r.text("SAN: *.Contoso.COM, mail.contoso.com")) == "SAN: *.host-*, host-*"


@pytest.mark.parametrize("text", ["logs/*.LOG", "*.txt", "rm *.log", "glob **/*.yaml", "a * b.c"])
def test_a_wildcard_file_pattern_is_not_masked(r: Redactor, text: str) -> None:
    assert r.text(text) == text


@pytest.mark.parametrize(
    ("text", "same_as"),
    [("192.168.001.001", "192.168.1.1"), ("010.001.002.003", "10.1.2.3"), ("[010.000.000.010]:25", "[10.0.0.10]:25")],
)
def test_a_zero_padded_ipv4_address_is_masked_as_the_address(r: Redactor, text: str, same_as: str) -> None:
    masked = r.text(text)
    assert MASK.search(masked) and not re.search(r"\d\.\d", masked)
    assert masked == r.text(same_as)


@pytest.mark.parametrize(
    "text", ["v4.0.30319", "TLSv1.2", "421 4.4.2 Connection dropped", "010.1.2.3.4", "1.2.3.004.5", "v10.0.001.001"]
)
def test_zero_padding_does_not_start_masking_versions(r: Redactor, text: str) -> None:
    assert r.text(text) == text


def test_a_zone_id_is_kept_and_does_not_change_the_mask(r: Redactor) -> None:
    """Documented choice: the zone (an interface name or number, local to the machine) stays."""
    assert r.text("fe80::1%eth0") == r.text("fe80::1") + "%eth0"
    assert r.text("[fe80::1%12]:25") == f"[{r.text('fe80::1')}%12]:25"
    assert r.text("ip-5b7ce8%eth0") == "ip-5b7ce8%eth0"  # already masked: nothing more to do


@pytest.mark.parametrize(
    "text", ['<"john doe"@host.contoso.com>', 'MAIL FROM:<"john\\"doe"@contoso.com> SIZE=1', '"a b"@[10.0.0.1]']
)
def test_a_quoted_local_part_is_masked_with_its_address(r: Redactor, text: str) -> None:
    masked = r.text(text)
    assert "john" not in masked and "doe" not in masked and '"a b"' not in masked
    assert "contoso" not in masked and "10.0.0.1" not in masked
    assert MASK.search(masked).group().startswith("email-")  # type: ignore[union-attr]


def test_quotes_around_words_are_not_an_address(r: Redactor) -> None:
    assert r.text('say "hi" to "a b" @ noon') == 'say "hi" to "a b" @ noon'
    assert _shape(r.text('"hi" and "x"@contoso.com')) == '"hi" and email-*'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:pass@host/path", "https://email-*/path"),
        ("https://user:pass@host.contoso.com:8443/path?q=1", "https://email-*:8443/path?q=1"),
        ("smtp://relay%40contoso.com:s3cr%3At@10.0.0.1:587", "smtp://email-*:587"),
        ("ftp://anonymous@[2001:db8::1]/pub", "ftp://email-*/pub"),
        ("https://user:p@ss@host.contoso.com/", "https://email-*/"),
    ],
)
def test_a_urls_user_and_password_are_masked(r: Redactor, text: str, expected: str) -> None:
    masked = r.text(text)
    assert _shape(masked) == expected
    assert not re.search(r"user|pass|p@ss|relay|s3cr|anonymous|contoso|10\.0", masked)


def test_a_urls_account_mask_leaves_the_password_out(r: Redactor) -> None:
    """user:pass@host is the account user@host: the password is neither shown nor hashed."""
    assert r.text("https://user:one@host.contoso.com/") == r.text("https://user:two@host.contoso.com/")
    assert r.text("https://user:one@host.contoso.com/") == r.text("https://USER@Host.Contoso.com/")
    assert r.text("https://user:one@host.contoso.com/") != r.text("https://other:one@host.contoso.com/")


def test_a_url_without_credentials_is_unchanged(r: Redactor) -> None:
    assert _shape(r.text("smtp://mail.contoso.com:25/x")) == "smtp://host-*:25/x"
    assert r.text("https://exch01.contoso.local/owa") == "https://exch01.contoso.local/owa"
