"""What an SMTP reply decides: STARTTLS accepted or refused, plaintext MAIL accepted or refused.

A check passes only on an answer that was really given, so each reply is read
into one of a few classes, and whatever cannot be read as a decided answer is
``error`` (never counted for or against the server).

Answer to ``STARTTLS`` (:func:`starttls_answer`):

* ``220``: ``accepted`` - the TLS handshake comes next;
* ``4xx``: ``temporary`` - the server may do STARTTLS another time; whatever it
  kept the probe from seeing (the TLS versions, the certificate) is ``error``,
  and so is ``starttls`` itself, even under ``starttls: required`` (a ``fail``
  there would let ``not:`` turn a busy server into a pass);
* ``5xx``: ``refused`` - a permanent no (with STARTTLS not offered, the only
  answer that fails ``starttls: required``);
* anything else (``250``, ``354``...): ``error``, not an answer to STARTTLS.

Answer to ``MAIL FROM:<>`` before STARTTLS (:func:`plaintext_answer`):

* ``250``: ``accepted`` - the server takes mail in plaintext;
* ``error`` first for a busy reply, whatever its enhanced code: ``421``
  (service not available, closing the channel), ``452`` (insufficient
  storage), and any reply whose text says the server is busy or limiting
  (``too many``, ``rate limit``, ``try again later``...) without naming
  STARTTLS - e.g. ``421 4.7.0 Too many connections``;
* ``error`` too for a refusal of the sender itself, whatever its enhanced code,
  when the text says so without naming STARTTLS: a blocklist (``550 5.7.1
  Client host [...] blocked using zen.spamhaus.org``), reputation, relaying,
  SPF or DMARC - who sends, not how, so it proves nothing about TLS;
* ``refused`` only for a refusal about TLS or policy: reply code ``530``, an
  enhanced status code of class 4 or 5 and subject 7 (``x.7.y``: security or
  policy, e.g. ``451 5.7.3``, ``530 5.7.0``, ``550 5.7.1``), or a ``4xx``/``5xx``
  whose text names STARTTLS;
* ``error`` for every other reply: busy (``421``, ``450``, ``452``), syntax
  (``500``, ``501``), a sender refused for its address (``550 5.1.x``)... - a
  refusal, but not of plaintext mail, so it proves nothing about TLS.

:func:`starttls_fact` and :func:`observe_starttls` turn what each connection
showed into the endpoint's one STARTTLS fact (the most telling observation).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from plugins.smtp.dialogue import Reply, SmtpClient
from plugins.smtp.texts import Said
from scanner.i18n import N_

StartTlsAnswer = Literal["accepted", "temporary", "refused", "error"]
PlaintextAnswer = Literal["accepted", "refused", "error"]

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)")
_STARTTLS = re.compile(r"\bSTARTTLS\b", re.IGNORECASE)
_BUSY_CODES = (421, 452)
_BUSY_TEXT = re.compile(r"too many|rate.?limit|try (?:again )?later|busy|overload|throttl|temporar(?:il)?y "
                        r"(?:un)?available|too fast|slow down", re.IGNORECASE)
# a refusal for who is sending (a blocklist, reputation, relaying), not for how: says nothing about TLS
_SENDER_TEXT = re.compile(r"block(?:ed|list)|black.?list|spamhaus|\b(?:dns)?[rd]bl\b|listed (?:at|in|on|by)|"
                          r"reputation|relay(?:ing)? (?:denied|not permitted|access denied)|not permitted to relay|"
                          r"sender (?:address )?rejected|spf|dmarc", re.IGNORECASE)


def enhanced_status(reply: Reply) -> tuple[int, int, int] | None:
    """The RFC 3463 enhanced status code at the start of the reply's first line, e.g. ``(5, 7, 0)``."""
    match = _ENHANCED.match(reply.lines[0].lstrip()) if reply.lines else None
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def starttls_answer(reply: Reply) -> StartTlsAnswer:
    """The class of a reply to ``STARTTLS`` (see the module docstring)."""
    if reply.code == 220:
        return "accepted"
    if 400 <= reply.code < 500:
        return "temporary"
    if 500 <= reply.code < 600:
        return "refused"
    return "error"


def plaintext_answer(reply: Reply) -> tuple[PlaintextAnswer, Said]:
    """The class of a reply to ``MAIL FROM:<>`` before STARTTLS, and why (see the module docstring)."""
    code = reply.code
    if code == 250:
        return "accepted", Said(N_("250: plaintext mail is accepted"))
    if not 400 <= code < 600:
        return "error", Said(N_("{code} is neither acceptance (250) nor a refusal (4xx/5xx)"), code=code)
    if code in _BUSY_CODES:
        return "error", Said(N_("{code} says the server is busy or closing, whatever its enhanced code: MAIL was "
                                "not judged"), code=code)
    names_starttls = any(_STARTTLS.search(line) for line in reply.lines)
    if not names_starttls and any(_BUSY_TEXT.search(line) for line in reply.lines):
        return "error", Said(N_("{code}: the server says it is busy or limiting, not that it wants TLS"), code=code)
    if not names_starttls and any(_SENDER_TEXT.search(line) for line in reply.lines):
        return "error", Said(N_("{code}: the server refuses this sender (a blocklist, reputation or relaying), "
                                "which says nothing about TLS: MAIL was not judged"), code=code)
    if code == 530:
        return "refused", Said(N_("530: authentication or TLS required"))
    status = enhanced_status(reply)
    if status is not None and status[0] in (4, 5) and status[1] == 7:
        return "refused", Said(N_("enhanced status {status}: a security or policy refusal"),
                               status=".".join(map(str, status)))
    if names_starttls:
        return "refused", Said(N_("the refusal names STARTTLS"))
    return "error", Said(N_("{code} refuses MAIL, but not for TLS or policy (expected 530, an enhanced status x.7.y "
                            "or text naming STARTTLS)"), code=code)


def starttls_fact(client: SmtpClient, reply: Reply | None) -> dict[str, Any]:
    """What one connection showed about STARTTLS, as a fact (``result`` by the classes above).

    ``not_offered`` only when the EHLO reply said what the server offers (``250``, or ``5xx``: no ESMTP).
    """
    if reply is None:
        if client.starttls_offered:
            return {"offered": True, "result": "not_tried"}
        if client.extensions_known and client.ehlo_reply is not None:
            return {"offered": False, "result": "not_offered", "quoted": client.ehlo_reply.quoted}
        if client.ehlo_reply is None:
            return {"offered": None, "result": "error",
                    "reason": Said(N_("no EHLO reply: whether STARTTLS is offered is unknown"))}
        return {"offered": None, "result": "error",
                "reason": Said(N_("EHLO answered {reply} (not 250, not a permanent 5xx): whether STARTTLS is "
                                  "offered is unknown"), reply=repr(client.ehlo_reply.quoted))}
    return {"offered": True, "result": starttls_answer(reply), "reply": reply.to_json(), "quoted": reply.quoted}


#: How much one STARTTLS observation tells: a later one replaces an earlier one only when it tells more.
_WEIGHT = {"not_tried": 1, "error": 2, "temporary": 2, "accepted": 3, "refused": 3, "not_offered": 3}


def observe_starttls(facts: dict[str, Any], fact: dict[str, Any]) -> None:
    """Keep the first decided STARTTLS observation: a later 454 from a rate limit does not rewrite it,
    but a decided answer replaces an undecided one (a temporary 4xx, an unknown EHLO)."""
    seen = facts.get("starttls")
    if seen is None or _WEIGHT.get(fact["result"], 0) > _WEIGHT.get(seen.get("result"), 0):
        facts["starttls"] = fact
