r"""``policyscan fix --format powershell``: a script that backs up, then sets the planned values.

The script supports ``-WhatIf`` and ``-Confirm`` (``[CmdletBinding(SupportsShouldProcess)]``;
every backup and every value goes through ``$PSCmdlet.ShouldProcess``) and
takes ``-BackupDirectory`` (default: ``policyscan-backup-<target>-<time>``
next to the script). It backs up each affected key that exists with
``reg.exe export`` (stopping, nothing changed, when that fails), names the
keys that do not exist yet, sets the values, and says a restart is needed.

It writes through .NET (``RegistryKey.OpenBaseKey(hive, Registry64)``,
``CreateSubKey``, ``SetValue``) rather than the registry provider:

* ``New-Item -Force`` on a key that exists deletes it with its subkeys and
  values before creating it again (PowerShell's RegistryProvider.NewItem);
* the provider reads ``/`` as a path separator, and SCHANNEL has keys such as
  ``Ciphers\RC4 128/128``; ``CreateSubKey`` splits only at ``\``;
* ``Registry64`` writes the 64-bit view even from a 32-bit PowerShell, which
  the provider would redirect to ``Wow6432Node``.

Strings are single-quoted with ``'`` doubled; the characters PowerShell also
reads as single quotes (U+2018..U+201B), control characters and line
separators are written as ``[char]0x....`` joined with ``+``, so nothing in
a value can end a string or a line. A DWORD or QWORD is passed as the signed
``[int]``/``[long]`` with the same bits (``SetValue`` wants that), the
unsigned value in a comment. Keys with ``"`` are refused (the key is passed
to reg.exe, and Windows PowerShell 5.1 does not escape quotes in native
arguments). The file is UTF-8 with a BOM (Windows PowerShell reads a file
without one in the ANSI code page).

PowerShell does not run where the tests run: ``tests/data/fix/*.ps1`` is a
golden file, checked by eye and by this docstring, not by execution.
"""

from __future__ import annotations

from plugins.registry import keys as regkeys
from plugins.registry.fixcmd import file_part, tops
from plugins.registry.fixplan import Change

_HIVES = {"HKEY_LOCAL_MACHINE": "LocalMachine", "HKEY_CURRENT_USER": "CurrentUser", "HKEY_CLASSES_ROOT": "ClassesRoot",
          "HKEY_USERS": "Users", "HKEY_CURRENT_CONFIG": "CurrentConfig"}
_KINDS = {"REG_DWORD": "DWord", "REG_QWORD": "QWord", "REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString",
          "REG_MULTI_SZ": "MultiString", "REG_BINARY": "Binary"}
_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")


def refusal(c: Change) -> str | None:
    """Why ``c`` cannot be written by the PowerShell script, or None."""
    if '"' in c.key:
        return 'a double quote (") in the key name, which reg.exe export cannot be given safely (use --format reg)'
    return None


def sq(text: str) -> str:
    """``text`` as a PowerShell expression: single-quoted pieces, special characters as ``[char]``."""
    parts: list[str] = []
    run = ""
    for ch in text:
        if ch in _QUOTES or not ch.isprintable() or ch in "\u0085\u2028\u2029":
            if run:
                parts.append(f"'{run}'")
                run = ""
            parts.append(f"[char]0x{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"[char]::ConvertFromUtf32(0x{ord(ch):x})")
        else:
            run += ch
    if run or not parts:
        parts.append(f"'{run}'")
    if len(parts) == 1:
        return parts[0]
    if parts[0].startswith("[char]"):
        parts.insert(0, "''")  # string + char, never char + char (that would add numbers)
    return "(" + " + ".join(parts) + ")"


def comment(text: str) -> str:
    """``text`` for a ``#`` comment: printable characters only."""
    return "".join(ch if ch.isprintable() and ch not in "\u2028\u2029" else "?" for ch in text)


def _data(c: Change) -> str:
    d = c.data
    if c.type == "REG_DWORD":
        assert isinstance(d, int)
        return f"[int]{d - (1 << 32) if d >= 1 << 31 else d}"
    if c.type == "REG_QWORD":
        assert isinstance(d, int)
        return f"[long]{d - (1 << 64) if d >= 1 << 63 else d}"
    if c.type == "REG_BINARY":
        assert isinstance(d, bytes)
        return "[byte[]]@(" + ", ".join(f"0x{b:02x}" for b in d) + ")"
    if c.type == "REG_MULTI_SZ":
        assert isinstance(d, tuple)
        return "[string[]]@(" + ", ".join(sq(s) for s in d) + ")"
    assert isinstance(d, str)
    return sq(d)


def render(target: str, changes: list[Change], source: str) -> str:
    """The script's text (LF line ends; the caller writes CRLF and the BOM)."""
    t = file_part(target)
    lines = [
        "<#",
        ".SYNOPSIS",
        "    policyscan fix: sets the registry values that failed rules expect.",
        ".DESCRIPTION",
        "    Backs up each affected key that exists (reg.exe export), sets the values, then asks",
        "    for a restart. Run elevated. -WhatIf shows what would change and changes nothing.",
        "#>",
        f"# Target: {comment(target)}",
        f"# Report: {comment(source)}",
        "[CmdletBinding(SupportsShouldProcess = $true)]",
        "param(",
        "    [string]$BackupDirectory = (Join-Path -Path $PSScriptRoot -ChildPath "
        f"('policyscan-backup-{t}-' + (Get-Date -Format 'yyyyMMdd-HHmmss')))",
        ")",
        "Set-StrictMode -Version 3.0",
        "$ErrorActionPreference = 'Stop'",
        "$view = [Microsoft.Win32.RegistryView]::Registry64",
        "",
    ]
    if not changes:
        lines += ["Write-Host 'policyscan fix: nothing to set.'"]
        return "\n".join(lines) + "\n"
    lines.append("# The affected keys that have no affected ancestor (an export holds the subkeys).")
    lines.append("$backups = @(")
    for i, key in enumerate(tops(changes), 1):
        hive, _, path = key.partition("\\")
        lines.append(f"    @{{ Hive = '{_HIVES[hive]}'; Path = {sq(path)}; Reg = {sq(regkeys.short_form(key))}; "
                     f"File = '{i:02d}-{file_part(path.rsplit(chr(92), 1)[-1])}.reg' }}")
    lines += [")", "", "# The values to set, each with the rules it serves.", "$changes = @("]
    for c in changes:
        hive, _, path = c.key.partition("\\")
        if c.type in ("REG_DWORD", "REG_QWORD"):
            lines.append(f"    # {comment(', '.join(c.rules))}; {c.type} {c.shown()}")
        else:
            lines.append(f"    # {comment(', '.join(c.rules))}")
        lines.append(f"    @{{ Hive = '{_HIVES[hive]}'; Path = {sq(path)}; Reg = {sq(regkeys.short_form(c.key))}; "
                     f"Name = {sq(c.name)}; Kind = '{_KINDS[c.type]}'; Data = {_data(c)} }}")
    lines += [")", "", _BODY.strip("\n")]
    return "\n".join(lines) + "\n"


_BODY = r"""
if ($PSCmdlet.ShouldProcess($BackupDirectory, 'Create the backup folder')) {
    [void][System.IO.Directory]::CreateDirectory($BackupDirectory)
}
foreach ($b in $backups) {
    $existing = [Microsoft.Win32.RegistryKey]::OpenBaseKey($b.Hive, $view).OpenSubKey($b.Path)
    if ($null -eq $existing) {
        Write-Host "Not backed up, it does not exist yet (the fix creates it): $($b.Reg)"
        continue
    }
    $existing.Close()
    $file = Join-Path -Path $BackupDirectory -ChildPath $b.File
    if ($PSCmdlet.ShouldProcess($b.Reg, "Back up to $file")) {
        & reg.exe export $b.Reg $file /y /reg:64 | Out-Null
        if ($LASTEXITCODE -ne 0) {
            throw "policyscan fix: reg export of $($b.Reg) failed (exit code $LASTEXITCODE); nothing was changed."
        }
        Write-Host "Backed up $($b.Reg) to $file"
    }
}
$done = 0
foreach ($c in $changes) {
    $shown = if ($c.Name -eq '') { '@' } else { $c.Name }
    if ($PSCmdlet.ShouldProcess("$($c.Reg)\$shown", "Set $($c.Kind) value")) {
        $key = [Microsoft.Win32.RegistryKey]::OpenBaseKey($c.Hive, $view).CreateSubKey($c.Path)
        try {
            $key.SetValue($c.Name, $c.Data, [Microsoft.Win32.RegistryValueKind]$c.Kind)
        } finally {
            $key.Close()
        }
        Write-Host "Set $($c.Reg)\$shown"
        $done++
    }
}
if ($done -gt 0) {
    Write-Host "policyscan fix: $done value(s) set. Backups are in $BackupDirectory."
    Write-Warning 'Restart the server now: the new settings take effect only after a restart.'
}
"""
