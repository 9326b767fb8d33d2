<#
.SYNOPSIS
    policyscan fix: sets the registry values that failed rules expect.
.DESCRIPTION
    Backs up each affected key that exists (reg.exe export), sets the values, then asks
    for a restart. Run elevated. -WhatIf shows what would change and changes nothing.
#>
# Target: host1
# Report: report.json
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [string]$BackupDirectory = (Join-Path -Path $PSScriptRoot -ChildPath ('policyscan-backup-host1-' + (Get-Date -Format 'yyyyMMdd-HHmmss')))
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$view = [Microsoft.Win32.RegistryView]::Registry64

# The affected keys that have no affected ancestor (an export holds the subkeys).
$backups = @(
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; File = '01-PolicyscanFixTest.reg' }
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest2\Sub'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest2\Sub'; File = '02-Sub.reg' }
)

# The values to set, each with the rules it serves.
$changes = @(
    # fix-test/FIX-011; REG_QWORD 1099511627776
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Big'; Kind = 'QWord'; Data = [long]1099511627776 }
    # fix-test/FIX-007
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Blob'; Kind = 'Binary'; Data = [byte[]]@(0xde, 0xad, 0xbe, 0xef) }
    # fix-test/FIX-008; REG_DWORD 7
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'InOne'; Kind = 'DWord'; Data = [int]7 }
    # fix-test/FIX-002; REG_DWORD 5
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Missing'; Kind = 'DWord'; Data = [int]5 }
    # fix-test/FIX-005
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Multi'; Kind = 'MultiString'; Data = [string[]]@('x', 'y z', 'last\') }
    # fix-test/FIX-003
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Name'; Kind = 'String'; Data = 'C:\new dir\ 100% & ^ (x) !y! <z>|' }
    # fix-test/FIX-006
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Path'; Kind = 'ExpandString'; Data = '%SystemRoot%\system32' }
    # fix-test/FIX-001; REG_DWORD 1
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest'; Name = 'Wrong'; Kind = 'DWord'; Data = [int]1 }
    # fix-test/FIX-012
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest2\Sub'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest2\Sub'; Name = 'Made'; Kind = 'String'; Data = 'made' }
    # fix-test/FIX-009; REG_DWORD 0
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest\Ciphers\RC4 128/128'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest\Ciphers\RC4 128/128'; Name = 'Enabled'; Kind = 'DWord'; Data = [int]0 }
    # fix-test/FIX-004; REG_QWORD 4294967301
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest\New\Deeper'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest\New\Deeper'; Name = 'Q'; Kind = 'QWord'; Data = [long]4294967301 }
    # fix-test/FIX-010
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest\Present'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest\Present'; Name = ''; Kind = 'String'; Data = 'dflt' }
    # fix-test/FIX-013; REG_DWORD 1
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest\Present'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest\Present'; Name = 'A'; Kind = 'DWord'; Data = [int]1 }
    # fix-test/FIX-013
    @{ Hive = 'LocalMachine'; Path = 'SOFTWARE\PolicyscanFixTest\Present'; Reg = 'HKLM\SOFTWARE\PolicyscanFixTest\Present'; Name = 'B'; Kind = 'String'; Data = 'b' }
)

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
