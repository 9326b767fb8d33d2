"""The style sheet of the ``html`` report, as constant text.

Constant so the page's Content-Security-Policy can allow exactly it by hash
(:data:`scanner.reporters.html_report.CSP`). System fonts only; status colours
are the variables ``--pass`` ... ``--waived``, used by tiles, bars and badges.
"""

from __future__ import annotations

CSS = """
:root{--pass:#2e7d32;--fail:#c62828;--error:#e65100;--skip:#8a8f98;--waived:#6a4fb3;--none:#eceff1;
--ink:#1f2328;--muted:#5b636e;--line:#d8dee4;--bg:#f4f6f8;--card:#fff;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans","DejaVu Sans","Liberation Sans",Arial,sans-serif}
header{background:#16202c;color:#fff;padding:18px 28px 14px}
header h1{margin:0;font-size:22px;font-weight:600}
.sub{margin:2px 0 10px;color:#c9d1d9}
.verdict{display:inline-block;margin:0;padding:5px 12px;border-radius:4px;font-weight:600}
.v-bad{background:var(--fail)}.v-warn{background:var(--error)}.v-good{background:var(--pass)}
main{padding:16px 28px 40px;max-width:1500px;margin:0 auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:0 0 16px;
min-width:0}
.card h2{font-size:15px;margin:0 0 10px;color:#24292f}
.two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 16px;align-items:start}
.two>.card{margin-bottom:16px}
@media (max-width:900px){.two{grid-template-columns:minmax(0,1fr)}}
table{border-collapse:collapse;width:100%}
.kv th{text-align:left;font-weight:500;color:var(--muted);padding:3px 12px 3px 0;white-space:nowrap;
vertical-align:top;width:1%}
.kv td{padding:3px 0;word-break:break-word}
.grid th,.grid td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.grid td:first-child{white-space:nowrap}
.grid th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.num{text-align:right}
code,.hash,.mono{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;
font-size:12px}
.hash{color:var(--muted);word-break:break-all}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:10px}
.tile{flex:1 1 110px;border-radius:6px;padding:8px 12px;color:#fff;display:flex;flex-direction:column}
.tile-n{font-size:26px;font-weight:700;line-height:1.1}
.tile-l{font-weight:600}.tile-p{opacity:.85;font-size:12px}
.st-pass{background:var(--pass)}.st-fail{background:var(--fail)}.st-error{background:var(--error)}
.st-skip{background:var(--skip)}.st-waived{background:var(--waived)}
.f-pass{fill:var(--pass)}.f-fail{fill:var(--fail)}.f-error{fill:var(--error)}.f-skip{fill:var(--skip)}
.f-waived{fill:var(--waived)}.f-none{fill:var(--none)}
.stackbar{width:100%;height:24px;display:block;border-radius:4px;background:var(--none)}
.progress{color:var(--muted);margin:0 0 12px}.progress:empty{display:none}
.help{color:var(--muted);margin:-4px 0 8px;font-size:12px}
.hbar{display:grid;grid-template-columns:minmax(90px,30%) 1fr 90px;gap:6px;align-items:center;margin:3px 0;
font-size:13px}
.hbar .lbl{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.hbar .cnt{color:var(--muted);font-size:12px;white-space:nowrap}
.hbar svg{width:100%;height:16px;display:block;background:var(--none);border-radius:3px}
.hbar.click{cursor:pointer}.hbar.click:hover .lbl{color:var(--accent);text-decoration:underline}
.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin-top:8px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.matrix{overflow-x:auto}
.matrix svg{display:block}
.matrix text{font-size:11px;fill:var(--ink);font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.matrix rect.cell{cursor:pointer;stroke:#fff;stroke-width:1}
.matrix rect.cell:hover{stroke:#000}
.pager{display:flex;gap:8px;align-items:center;margin:8px 0;color:var(--muted);font-size:13px}
button{font:inherit;border:1px solid var(--line);background:#fff;border-radius:4px;padding:3px 10px;
cursor:pointer;color:var(--ink)}
button:hover{border-color:var(--accent)}button:disabled{opacity:.45;cursor:default}
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin-bottom:10px}
.chips{display:flex;gap:4px;flex-wrap:wrap}
.chip{border-radius:14px;padding:2px 10px;font-size:13px}
.chip[aria-pressed=true]{color:#fff;border-color:transparent}
.chip.sev[aria-pressed=true]{background:#24292f}
.chip[aria-pressed=false]{color:var(--muted);background:#fff}
select,input[type=search],input[type=text]{font:inherit;padding:3px 6px;border:1px solid var(--line);
border-radius:4px;background:#fff;max-width:260px}
input[type=search]{min-width:260px}
.results{width:100%;table-layout:fixed}
.results th{text-align:left;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;
padding:5px 8px;border-bottom:2px solid var(--line)}
.results td{padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow:hidden;
text-overflow:ellipsis}
.results tr.row{cursor:pointer}.results tr.row:hover{background:#f6f8fa}
.results tr.row:focus{outline:2px solid var(--accent);outline-offset:-2px}
.results tr.open{background:#eef4fb}
.results td.msg{white-space:nowrap}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 7px;font-size:12px;font-weight:600}
.sev-critical{color:#8e0000;font-weight:700}.sev-high{color:var(--fail);font-weight:600}
.sev-medium{color:#a15c00}.sev-low{color:#35618f}.sev-info{color:var(--muted)}
.detail td{background:#fbfcfd;white-space:normal}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:4px 0}
.detail dt{color:var(--muted);font-weight:500}
.detail dd{margin:0;white-space:pre-wrap;word-break:break-word}
.ev{border:1px solid var(--line);border-radius:4px;margin:0 0 6px;padding:4px 8px;background:#fff}
.ev div{white-space:pre-wrap;word-break:break-all}
.ev b{font-weight:500;color:var(--muted)}
a{color:var(--accent)}
"""
