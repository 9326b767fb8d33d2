"""smtp_tls against Debian's Postfix, an independent real MTA, run privately on 127.0.0.1 high ports.

The fixture writes its own main.cf/master.cf (queue and data directories in a
temp dir, no chroot, two smtpd listeners), runs ``postfix -c DIR check`` to
create the queue, starts ``master -c DIR -d`` as a child and terminates it
afterwards. Listener "modern": ``smtpd_tls_protocols = >=TLSv1.2`` and
``smtpd_tls_security_level = encrypt`` (plaintext MAIL gets 530). Listener
"legacy": ``>=TLSv1`` with ``tls_medium_cipherlist = DEFAULT:@SECLEVEL=0`` and
``may``. Skipped only when postfix is missing and the CI variable is unset.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_servers import NOW, make_cert

from plugins.smtp import register_check_types
from scanner.api import CollectRequest, EvalContext, RunContext, Target

pytestmark = [pytest.mark.postfix, pytest.mark.timeout(60)]
MASTER = "/usr/lib/postfix/sbin/master"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"postfix did not listen on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def postfix() -> Iterator[dict[str, str]]:
    if not (shutil.which("postfix") or os.path.exists("/usr/sbin/postfix")) or not os.path.exists(MASTER):
        if os.environ.get("CI"):
            pytest.fail("postfix is not installed but CI is set: .ci/run must apt-get install postfix")
        pytest.skip("postfix is not installed (CI unset)")
    root = Path(tempfile.mkdtemp(prefix="policyscan-postfix-"))
    try:
        root.chmod(0o755)  # the postfix user must reach the queue
        etc, queue, data = root / "etc", root / "queue", root / "data"
        for d in (etc, queue, data):
            d.mkdir()
        shutil.chown(data, "postfix")
        cert = make_cert(etc, "server", ["mail.test"])
        cert.key.chmod(0o644)
        modern, legacy = _free_port(), _free_port()
        (etc / "main.cf").write_text(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = /dev/stdout
smtpd_tls_cert_file = {cert.cert}
smtpd_tls_key_file = {cert.key}
smtpd_tls_security_level = encrypt
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
""")
        (etc / "master.cf").write_text(f"""127.0.0.1:{modern} inet n - n - - smtpd
127.0.0.1:{legacy} inet n - n - - smtpd -o smtpd_tls_security_level=may -o smtpd_tls_protocols=>=TLSv1 \
-o smtpd_tls_mandatory_protocols=>=TLSv1 -o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
tlsmgr unix - - n 1000? 1 tlsmgr
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
proxymap unix - - n - - proxymap
postlog unix-dgram n - n - 1 postlogd
""")
        subprocess.run(["postfix", "-c", str(etc), "check"], check=True, capture_output=True, timeout=30)
        log = open(root / "postfix.log", "w")  # noqa: SIM115 - closed in the finally below
        master = subprocess.Popen([MASTER, "-c", str(etc), "-d"], stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            _wait_listening(modern, deadline)
            _wait_listening(legacy, deadline)
            yield {"modern": f"127.0.0.1:{modern}", "legacy": f"127.0.0.1:{legacy}", "log": str(root / "postfix.log")}
        finally:
            with_group = master.pid
            master.terminate()
            try:
                master.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(with_group, signal.SIGKILL)  # the group this fixture started, nothing else
                master.wait(5)
            log.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


HARDENING = {"accept": ["TLSv1.2"], "reject": ["SSLv3", "TLSv1.0", "TLSv1.1"], "plaintext_mail": "refused",
             "servername": "mail.test",
             "certificate": {"min_days_valid": 30, "min_key_bits": 2048, "match_hostname": True}, "timeout": 5}


def test_postfix_listeners(postfix: dict[str, str]) -> None:
    check_type = register_check_types()[0]
    run = RunContext(now=NOW)
    targets = {name: Target(name, sources={"smtp": [postfix[name]]}) for name in ("modern", "legacy")}
    requests = [CollectRequest(t, [HARDENING | {"accept": ["TLSv1.2", "TLSv1.3"]}]) for t in targets.values()]
    facts = dict(check_type.collector.collect(requests, run))
    outcome = {n: check_type.collector.evaluate(HARDENING, facts[n], EvalContext(run=run, target=t))
               for n, t in targets.items()}
    modern = facts["modern"]["probes"][f"{postfix['modern']} servername=mail.test"]
    legacy = facts["legacy"]["probes"][f"{postfix['legacy']} servername=mail.test"]
    assert {v: r["verdict"] for v, r in modern["versions"].items()} == {
        "SSLv3": "refused", "TLSv1.0": "refused", "TLSv1.1": "refused", "TLSv1.2": "accepted",
        "TLSv1.3": "accepted"}
    assert modern["versions"]["TLSv1.0"]["alert"] == 70  # protocol_version, said by Postfix's OpenSSL
    assert {v: r["verdict"] for v, r in legacy["versions"].items()} == {
        "SSLv3": "refused", "TLSv1.0": "accepted", "TLSv1.1": "accepted", "TLSv1.2": "accepted",
        "TLSv1.3": "accepted"}
    assert modern["connections"][0]["greeting"]["text"] == "mail.test ESMTP Postfix"
    assert modern["plaintext_mail"]["quoted"] == "530 5.7.0 Must issue a STARTTLS command first"
    assert legacy["plaintext_mail"]["result"] == "accepted"
    assert modern["certificate"]["san_dns"] == ["mail.test"] and modern["certificate"]["key_bits"] == 2048
    assert outcome["modern"].status == "pass", outcome["modern"].message
    assert outcome["legacy"].status == "fail"
    assert outcome["legacy"].actual[postfix["legacy"]]["TLSv1.0"] == "accepted"
    assert outcome["legacy"].actual[postfix["legacy"]]["plaintext_mail"] == "accepted"
