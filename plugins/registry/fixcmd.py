r"""``policyscan fix --format cmd``: a batch file that backs up, then sets the planned values with reg.exe.

What the script does, in order:

1. makes a new backup folder next to itself, ``policyscan-backup-<target>-<date>_<time>``
   (``%DATE%``/``%TIME%`` with ``/ : . ,`` and spaces replaced; a random suffix when that
   folder exists, so a second run never overwrites the first run's backup), and stops when
   it cannot;
2. for each affected key that has no affected ancestor (an export holds the
   subkeys): ``reg query`` tells whether it exists; an existing key is saved
   with ``reg export`` (the script stops, changing nothing, when that fails);
   a key that does not exist yet is only named (nothing to back up: the fix
   creates it; deleting it undoes the fix);
3. ``reg add "KEY" /v NAME /t TYPE /d DATA /f`` for each value, stopping at
   the first failure;
4. says that the server must be restarted.

``/reg:64`` on every reg.exe call: a 32-bit shell on 64-bit Windows would
otherwise write under ``Wow6432Node``.

Quoting (cmd.exe, then the C runtime's argument rules reg.exe follows): every
key, name and datum is in double quotes, where ``& | < > ^ ( )`` are
literal; ``%`` is doubled (``%%``), since a batch file expands ``%`` even in
quotes; delayed expansion is off, so ``!`` is literal; backslashes before the
closing quote are doubled. What cannot be written this way is refused (see
:func:`refusal`): ``"``, control characters and non-ASCII characters (cmd.exe
reads a batch file in the console's code page, which the generator cannot
know); in REG_MULTI_SZ, an empty string, a ``\0`` inside a string or a
string ending in ``\`` before the next one (reg.exe's separator is ``\0``).
Use ``--format reg`` or ``powershell`` for those.
"""

from __future__ import annotations

from plugins.registry import keys as regkeys
from plugins.registry.fixplan import Change

REG = "/reg:64"


def refusal(c: Change) -> str | None:
    """Why ``c`` cannot be written in a batch file, or None."""
    texts = [c.key, c.name]
    if isinstance(c.data, str) and c.type != "REG_BINARY":
        texts.append(c.data)
    if isinstance(c.data, tuple):
        texts.extend(c.data)
        if any(s == "" for s in c.data):
            return "an empty string inside a REG_MULTI_SZ, which reg.exe cannot write (use --format reg)"
        if any("\\0" in s or (s.endswith("\\") and i < len(c.data) - 1) for i, s in enumerate(c.data)):
            return "a REG_MULTI_SZ string that reg.exe would split at '\\0' (use --format reg)"
    for text in texts:
        if '"' in text:
            return ('a double quote (") in a key, name or value, which a batch file cannot pass safely '
                    "(use --format reg)")
        if any(not 32 <= ord(ch) < 127 for ch in text):
            return "a control or non-ASCII character, which a batch file cannot carry safely (use --format reg)"
    return None


def arg(text: str) -> str:
    """``text`` as one double-quoted reg.exe argument inside a batch file (:func:`refusal` passed)."""
    stripped = text.rstrip("\\")
    tail = len(text) - len(stripped)
    return '"' + (stripped + "\\" * (2 * tail)).replace("%", "%%") + '"'


def shown(text: str) -> str:
    """``text`` for an ``echo`` line: quoted (so cmd.exe reads it literally), ``%`` doubled."""
    return '"' + text.replace("%", "%%") + '"'


def _data(c: Change) -> str:
    d = c.data
    if c.type == "REG_DWORD":
        return str(d)
    if c.type == "REG_QWORD":
        assert isinstance(d, int)
        return f"0x{d:x}"
    if c.type == "REG_BINARY":
        assert isinstance(d, bytes)
        return f'"{d.hex()}"'
    if c.type == "REG_MULTI_SZ":
        assert isinstance(d, tuple)
        return arg("\\0".join(d))
    assert isinstance(d, str)
    return arg(d)


def tops(changes: list[Change]) -> list[str]:
    """The affected keys that have no affected ancestor, in order (their exports hold the rest)."""
    keys = list(dict.fromkeys(c.key for c in changes))
    norms = {k: regkeys.normalise(k) or k.lower() for k in keys}
    out: list[str] = []
    for k in keys:
        if not any(o != k and regkeys.is_under(norms[k], norms[o]) for o in keys) and norms[k] not in (
                norms[x] for x in out):
            out.append(k)
    return out


def remark(text: str) -> str:
    """``text`` for a ``rem`` line: only characters cmd.exe never acts on there (others become ``?``)."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in " -_./:@,") else "?" for ch in text)


def file_part(text: str) -> str:
    """``text`` as a short, safe part of a file name (backup files of both scripts)."""
    part = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in text).strip(".-")
    return part[:40] or "key"


def render(target: str, changes: list[Change], source: str) -> str:
    """The batch file's text (LF line ends; the caller writes CRLF)."""
    t = file_part(target)
    lines = [
        "@echo off",
        f"rem policyscan fix for target {remark(target)}, from {remark(source)}",
        "rem Run as administrator. Backs up the affected keys (reg export), sets the values, then",
        "rem asks for a restart. Stops at the first step that fails.",
        "setlocal EnableExtensions DisableDelayedExpansion",
    ]
    if not changes:
        lines += ["echo policyscan fix: nothing to set.", "exit /b 0"]
        return "\n".join(lines) + "\n"
    lines += [
        'set "STAMP=%DATE%_%TIME%"',
        'set "STAMP=%STAMP:/=-%"',
        'set "STAMP=%STAMP::=-%"',
        'set "STAMP=%STAMP:.=-%"',
        'set "STAMP=%STAMP:,=-%"',
        'set "STAMP=%STAMP: =_%"',
        f'set "BACKUP=%~dp0policyscan-backup-{t}-%STAMP%"',
        # a fresh folder every run: %TIME% may lack seconds (Wine), and a second run must not
        # overwrite the first run's backup, which holds the values from before any fix
        ":pickbackup",
        'if exist "%BACKUP%" (set "BACKUP=%BACKUP%-%RANDOM%" & goto :pickbackup)',
        'mkdir "%BACKUP%" 2>nul',
        'if not exist "%BACKUP%\\" goto :nobackupdir',
        "",
    ]
    for i, key in enumerate(tops(changes), 1):
        short = regkeys.short_form(key)
        lines += [
            f"reg query {arg(short)} {REG} >nul 2>&1",
            f"if errorlevel 1 goto :absent{i}",
            f'reg export {arg(short)} "%BACKUP%\\{i:02d}-{file_part(key.rsplit(chr(92), 1)[-1])}.reg" /y {REG} >nul',
            "if errorlevel 1 goto :backupfailed",
            f"echo Backed up {shown(short)}",
            f"goto :backedup{i}",
            f":absent{i}",
            f"echo Not backed up, it does not exist yet (the fix creates it): {shown(short)}",
            f":backedup{i}",
            "",
        ]
    for c in changes:
        name = "/ve" if c.name == "" else f"/v {arg(c.name)}"
        lines += [
            f"rem {remark(', '.join(c.rules))}",
            f"echo Setting {shown(regkeys.short_form(c.key))} {shown(c.name or '@')} ({c.type})",
            f"reg add {arg(regkeys.short_form(c.key))} {name} /t {c.type} /d {_data(c)} /f {REG} >nul",
            "if errorlevel 1 goto :setfailed",
        ]
    lines += [
        "",
        f"echo policyscan fix: {len(changes)} value(s) set. Backups are in \"%BACKUP%\".",
        "echo Restart the server now: the new settings take effect only after a restart.",
        "exit /b 0",
        "",
        ":nobackupdir",
        'echo policyscan fix: cannot create the backup folder "%BACKUP%"; nothing was changed. 1>&2',
        "exit /b 1",
        ":backupfailed",
        "echo policyscan fix: reg export failed; nothing was changed. 1>&2",
        "exit /b 1",
        ":setfailed",
        'echo policyscan fix: reg add failed; the values before it were set. Backups are in "%BACKUP%". 1>&2',
        "exit /b 1",
    ]
    return "\n".join(lines) + "\n"
