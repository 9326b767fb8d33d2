"""``plaintext_mail: refused`` needs a refusal about TLS: a server that refuses *who* sends (a blocklist,
reputation, relaying) with an x.7.y code says nothing about plaintext mail (second black-box pass)."""

from __future__ import annotations

import pytest

from plugins.smtp.dialogue import Reply
from plugins.smtp.replies import plaintext_answer


@pytest.mark.parametrize("code, text", [
    (550, "5.7.1 Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    (554, "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Spamhaus"),
    (550, "5.7.1 Your IP is listed on a DNSBL"),
    (550, "5.7.606 Access denied, banned sending IP [192.0.2.1] (poor reputation)"),
    (550, "5.7.1 Relaying denied"),
    (550, "5.7.23 SPF validation failed"),
])
def test_a_refusal_of_the_sender_is_not_a_tls_refusal(code: int, text: str) -> None:
    answer, why = plaintext_answer(Reply(code, (text,)))
    assert answer == "error", why
    assert "says nothing about TLS" in why


@pytest.mark.parametrize("code, text", [
    (451, "5.7.3 Must issue a STARTTLS command first"),
    (530, "5.7.0 Must issue a STARTTLS command first"),
    (550, "5.7.1 Client host blocked until it issues STARTTLS"),  # names STARTTLS: about TLS after all
    (550, "5.7.1 Unauthenticated mail is prohibited"),
])
def test_a_tls_or_policy_refusal_still_counts(code: int, text: str) -> None:
    assert plaintext_answer(Reply(code, (text,)))[0] == "refused"
