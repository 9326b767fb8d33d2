"""tls_verdict on generated ServerHellos: only a lawful answer to our ClientHello can decide a version."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.smtp.suites import OFFERED, VERSIONS
from plugins.smtp.tls_verdict import WIRE_VERSIONS, ServerHello, judge_server_hello

_CODES = st.sampled_from([0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0305, 0x7F1C])
_CIPHERS = st.one_of(st.sampled_from(sorted({c for cs in OFFERED.values() for c in cs} | {0x00FF, 0x5600})),
                     st.integers(0, 0xFFFF))


@st.composite
def hellos(draw: st.DrawFn) -> ServerHello:
    legacy = draw(_CODES)
    supported = draw(st.none() | _CODES)
    return ServerHello(version=supported if supported is not None else legacy, cipher=draw(_CIPHERS),
                       retry_request=draw(st.booleans()), legacy_version=legacy, supported_versions=supported,
                       compression=draw(st.sampled_from([0, 0, 0, 1, 64])))


@settings(max_examples=300, deadline=None)
@given(probed=st.sampled_from(VERSIONS), hello=hellos())
def test_a_decided_verdict_rests_on_a_lawful_server_hello(probed: str, hello: ServerHello) -> None:
    verdict = judge_server_hello(probed, hello, OFFERED[probed])
    wire = WIRE_VERSIONS[probed]
    if verdict.verdict == "error":
        assert verdict.reason.startswith("protocol violation: ")
        return
    # accepted or refused: nothing the ClientHello did not offer, nothing newer than offered
    assert hello.cipher in OFFERED[probed] and hello.compression == 0
    assert 0x0300 <= hello.version <= wire
    if probed == "TLSv1.3":
        assert verdict.verdict == "accepted"  # a TLS 1.3-only hello has no lawful older answer
        assert hello.supported_versions == 0x0304 and hello.legacy_version == 0x0303
    else:
        assert hello.supported_versions is None and not hello.retry_request
        assert hello.cipher in OFFERED.get(verdict.selected_version or "", ())
    assert (verdict.verdict == "accepted") == (hello.version == wire)
