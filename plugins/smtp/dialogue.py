"""The SMTP client side of a probe: greeting, EHLO/HELO, MAIL FROM:<>, RSET, STARTTLS, QUIT.

:class:`SmtpClient` drives one plaintext SMTP connection over asyncio streams.
It reads whole replies line by line (a reply split over many TCP segments, or
one line per segment, reads the same), never reads past the end of a reply
(after ``220`` to STARTTLS the next byte belongs to TLS), and bounds everything:

* every stage (one command and its reply, or the greeting) has a deadline of
  ``timeout`` seconds, a wall-clock bound, not a per-read one: a peer dripping
  a byte a second still ends at the deadline;
* a reply line may be at most :data:`MAX_LINE` bytes, a reply at most
  :data:`MAX_REPLY_LINES` lines, a connection at most :data:`MAX_TOTAL` bytes;
* the dialogue stays in step: the client never pipelines, so before each
  command nothing may be waiting from the server (neither buffered in the
  reader nor pending on the socket, seen with a non-blocking peek). Bytes
  there are a reply nobody asked for, which would otherwise be read as the
  answer to the command: :class:`DialogueError` (``out of step``) instead.

How long each stage took is kept in ``stages`` (``{stage: seconds}``, the
longest when a stage repeats), so that a rule with a shorter timeout than the
probe's can tell that a stage was slower than it allows.

Every command and reply goes into ``transcript`` as ``[ms, ">"|"<"|"!", text]``
(``!`` for what went wrong), the evidence a result quotes. Failures raise
:class:`DialogueError` with the stage and a reason that quotes the server.
The client never sends RCPT or DATA.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field

from plugins.smtp.texts import Said
from scanner.i18n import N_

MAX_LINE = 4096
"""Longest reply line accepted, CRLF included (RFC 5321 allows 512; servers are generous)."""
MAX_REPLY_LINES = 200
MAX_TOTAL = 256 * 1024
"""Bytes read on one connection before TLS, all replies together."""
STREAM_LIMIT = 2 * MAX_LINE
"""``limit=`` for ``asyncio.open_connection``: the reader refuses longer lines itself."""


STAGES = {"connect": N_("connect"), "greeting": N_("greeting")}
"""The stages named by a word rather than by an SMTP command (``EHLO``, ``STARTTLS``... stay as they are)."""


class DialogueError(Exception):
    """The SMTP dialogue could not go on. ``stage`` names the step (``greeting``, ``EHLO``...)."""

    def __init__(self, stage: str, reason: str, reply: Reply | None = None) -> None:
        self.text = Said(N_("{stage}: {reason}"), stage=Said(STAGES[stage]) if stage in STAGES else stage,
                         reason=reason)
        """``stage: reason``, translatable later (:class:`~plugins.smtp.texts.Said`) when ``reason`` is."""
        super().__init__(str(self.text))
        self.stage = stage
        self.reason = reason
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: its code and its lines' texts (without the code)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " / ".join(line for line in self.lines if line) or ""

    @property
    def quoted(self) -> str:
        """The reply as the server wrote it, lines joined: ``451 5.7.3 Must issue...``."""
        return " | ".join(f"{self.code} {line}".rstrip() for line in self.lines)

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "text": "\n".join(self.lines)}


@dataclass(slots=True)
class SmtpClient:
    """One SMTP connection, driven stage by stage."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeout: float
    transcript: list[list[object]] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    hello: str = ""
    ehlo_reply: Reply | None = None
    stages: dict[str, float] = field(default_factory=dict)
    _read: int = 0
    _t0: float = 0.0

    def __post_init__(self) -> None:
        self._t0 = asyncio.get_running_loop().time()

    def note(self, direction: str, text: str) -> None:
        ms = round((asyncio.get_running_loop().time() - self._t0) * 1000, 1)
        self.transcript.append([ms, direction, text])

    def deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout

    async def _line(self, stage: str) -> bytes:
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            closed = Said(N_("connection closed by the server after {received}"), received=repr(exc.partial[:80])) \
                if exc.partial else Said(N_("connection closed by the server"))
            raise DialogueError(stage, closed) from None
        except asyncio.LimitOverrunError:
            raise DialogueError(stage, Said(N_("reply line longer than {limit} bytes"), limit=MAX_LINE)) from None
        except OSError as exc:
            raise DialogueError(stage, Said(N_("connection lost: {error}"), error=str(exc))) from None
        self._read += len(line)
        if len(line) > MAX_LINE:
            raise DialogueError(stage, Said(N_("reply line longer than {limit} bytes"), limit=MAX_LINE))
        if self._read > MAX_TOTAL:
            raise DialogueError(stage, Said(N_("server sent more than {limit} bytes"), limit=MAX_TOTAL))
        return line

    def timed(self, stage: str, started: float) -> None:
        """Keep how long ``stage`` took (since ``started``, a loop time), the longest when it repeats."""
        took = round(asyncio.get_running_loop().time() - started, 3)
        self.stages[stage] = max(took, self.stages.get(stage, 0.0))

    async def read_reply(self, stage: str, deadline: float | None = None, started: float | None = None) -> Reply:
        """Read one whole (possibly multi-line) reply before the stage's deadline."""
        start = asyncio.get_running_loop().time() if started is None else started
        try:
            async with asyncio.timeout_at(self.deadline() if deadline is None else deadline):
                return await self._reply(stage)
        except TimeoutError:
            raise DialogueError(stage, Said(N_("no complete reply within {seconds:g} s"),
                                            seconds=self.timeout)) from None
        finally:
            self.timed(stage, start)

    def unread(self) -> bytes:
        """What the server sent that no reply has taken yet: bytes buffered in the reader, else (a
        non-blocking ``MSG_PEEK`` on a duplicate of the socket) bytes waiting in the kernel."""
        buffered = bytes(getattr(self.reader, "_buffer", b"")[:120])
        if buffered:
            return buffered
        sock = self.writer.get_extra_info("socket")
        if sock is None:
            return b""
        try:
            with sock.dup() as dup:
                return dup.recv(120, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:  # BlockingIOError: nothing waiting; anything else: the read that follows will say
            return b""

    def in_step(self, stage: str, command: str) -> None:
        """Raise :class:`DialogueError` when the server has sent something before ``command`` was sent."""
        early = self.unread()
        if early:
            self.note("!", f"before {command}: unread {early!r}")
            raise DialogueError(stage, Said(N_("out of step: the server sent {received} before {command} was sent "
                                               "(a reply nobody asked for would be read as the answer)"),
                                            received=repr(early[:80]), command=repr(command)))

    async def _reply(self, stage: str) -> Reply:
        code: int | None = None
        texts: list[str] = []
        raw: list[str] = []
        while True:
            line = (await self._line(stage)).rstrip(b"\r\n").decode("utf-8", "replace")
            raw.append(line)
            head, sep, rest = line[:3], line[3:4], line[4:]
            # RFC 5321 §4.2: three ASCII digits, the first 2-5 (str.isdigit alone takes '５３０' for 530)
            if len(line) < 3 or not (head.isascii() and head.isdigit()) or head[0] not in "2345" \
                    or sep not in ("", " ", "-"):
                self.note("<", "\n".join(raw))
                raise DialogueError(stage, Said(N_("not an SMTP reply: {line}"), line=repr(line[:120])))
            if code is not None and int(head) != code:
                self.note("<", "\n".join(raw))
                raise DialogueError(stage, Said(N_("reply code changed within a reply: {line}"),
                                                line=repr(line[:120])))
            code = int(head)
            texts.append(rest)
            if sep != "-":
                break
            if len(texts) >= MAX_REPLY_LINES:
                raise DialogueError(stage, Said(N_("reply longer than {limit} lines"), limit=MAX_REPLY_LINES))
        reply = Reply(code, tuple(texts))
        self.note("<", "\n".join(raw))
        return reply

    async def send(self, stage: str, command: str) -> Reply:
        """Send one command line and read its reply, all within one stage deadline."""
        started = asyncio.get_running_loop().time()
        deadline = self.deadline()
        if stage != "QUIT":
            await asyncio.sleep(0)  # let the loop take in whatever has arrived
            self.in_step(stage, command)
        self.note(">", command)
        try:
            self.writer.write(command.encode("ascii") + b"\r\n")
            async with asyncio.timeout_at(deadline):
                await self.writer.drain()
        except TimeoutError:
            raise DialogueError(stage, Said(N_("could not send {command} within {seconds:g} s"),
                                            command=repr(command), seconds=self.timeout)) from None
        except OSError as exc:
            raise DialogueError(stage, Said(N_("connection lost while sending {command}: {error}"),
                                            command=repr(command), error=str(exc))) from None
        return await self.read_reply(stage, deadline, started)

    async def greet(self) -> Reply:
        """Wait for the whole ``220`` greeting; anything else is a :class:`DialogueError`."""
        reply = await self.read_reply("greeting")
        if reply.code != 220:
            raise DialogueError("greeting", Said(N_("greeting is not 220: {reply}"), reply=reply.quoted), reply)
        return reply

    async def say_hello(self, name: str) -> Reply:
        """EHLO, falling back to HELO when EHLO is refused; fills :attr:`extensions`."""
        reply = self.ehlo_reply = await self.send("EHLO", f"EHLO {name}")
        if reply.code == 250:
            self.hello = "EHLO"
            for line in reply.lines[1:]:
                keyword, _, params = line.strip().partition(" ")
                if keyword:
                    self.extensions[keyword.upper()] = params
            return reply
        helo = await self.send("HELO", f"HELO {name}")
        if helo.code != 250:
            raise DialogueError("HELO", Said(N_("EHLO and HELO refused: {ehlo}; {helo}"), ehlo=reply.quoted,
                                             helo=helo.quoted), helo)
        self.hello = "HELO"
        return helo

    @property
    def starttls_offered(self) -> bool:
        return "STARTTLS" in self.extensions

    @property
    def extensions_known(self) -> bool:
        """Whether the server said what it offers: EHLO answered ``250``, or refused for good (``5xx``:
        no ESMTP, so no STARTTLS). After a temporary (``4xx``) or odd EHLO reply nothing is known."""
        code = self.ehlo_reply.code if self.ehlo_reply is not None else 0
        return code == 250 or 500 <= code < 600

    async def starttls(self) -> Reply:
        """Send STARTTLS; return the reply (``220`` means the TLS handshake comes next)."""
        return await self.send("STARTTLS", "STARTTLS")

    async def quit(self) -> None:
        """QUIT politely and close; a server that is already gone is no error here."""
        try:
            await self.send("QUIT", "QUIT")
        except DialogueError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.close()


def hello_name(writer: asyncio.StreamWriter) -> str:
    """Our EHLO name: the address literal of our side of the connection (RFC 5321 §4.1.3)."""
    sockname = writer.get_extra_info("sockname")
    address = str(sockname[0]) if sockname else "127.0.0.1"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"
