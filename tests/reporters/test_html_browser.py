"""The html report in a real browser: Debian's chromium, headless, a fresh profile, no network.

Reports are made by the real command line (``python -m scanner scan ... --report
html=FILE``) and opened from ``file://``. The tests click filters and check
which rows a reader sees, feed hostile text through a log line and a ``.reg``
value and check that it shows as text and runs nothing, check that the page is
neither blank nor an error page (the screenshot's colours, the title, no
console errors: a CSP violation would be one), and that a 2,000-target fleet
report becomes interactive in bounded time.

Skipped on a developer machine without chromium, chromedriver or selenium;
never when ``CI`` is set (then a missing browser fails).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '"><img src=x onerror="window.__pwned=1">'
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--window-size=1400,1800",
]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the browser tests: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver named explicitly: selenium never looks for (or downloads) one itself
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def open_report(driver: Any, path: Path, timeout: float = 60) -> float:
    """Load the page and wait until its script has drawn everything; the seconds that took."""
    start = time.monotonic()
    driver.get(path.as_uri())
    while not driver.execute_script("return document.documentElement.dataset.ready === '1'"):
        assert time.monotonic() - start < timeout, f"{path.name} not interactive after {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def console_errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def visible_rows(driver: Any) -> list[tuple[str, str, str]]:
    """(status label, target, rule) of each row of the results table a reader sees now."""
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#ps-table tr.row')).map("
        "tr => [tr.cells[0].innerText.trim(), tr.cells[2].innerText.trim(), tr.cells[3].innerText.trim()])"
    )
    return [tuple(r) for r in rows]


def wait_for(condition: Any, timeout: float = 10) -> Any:
    start = time.monotonic()
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.05)


def chip(driver: Any, label: str) -> Any:
    from selenium.webdriver.common.by import By

    xpath = f"//button[contains(@class,'chip') and starts-with(normalize-space(.), '{label}')]"
    return driver.find_element(By.XPATH, xpath)


def scan(tmp_path: Path, inventory: Path, *extra: str) -> tuple[Path, dict[str, Any]]:
    html, js = tmp_path / "out.html", tmp_path / "out.json"
    proc = run_cli("scan", "--policy", str(ROOT / "policies"), "--inventory", str(inventory),
                   "--report", f"html={html}", "--report", f"json={js}", *extra, timeout=300)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return html, json.loads(js.read_text(encoding="utf-8"))


LABEL = {"pass": "Pass", "fail": "Fail", "error": "Error", "skip": "Skip", "waived": "Waived"}


def expected_rows(doc: dict[str, Any], statuses: set[str], target: str | None = None) -> list[tuple[str, str, str]]:
    return [(LABEL[r["status"]], r["target"], r["rule"]) for r in doc["results"]
            if r["status"] in statuses and (target is None or r["target"] == target)]


def test_example_fleet_filters_details_and_screenshot(browser: Any, tmp_path: Path) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    html, doc = scan(tmp_path, ROOT / "examples" / "inventory.yaml")
    open_report(browser, html)
    assert browser.title.startswith("policyscan report · ")
    # problems first: every fail and error (fewer than a page), in report order
    problems = expected_rows(doc, {"fail", "error", "waived"})
    assert 0 < len(problems) <= 50
    assert visible_rows(browser) == problems

    # a reader narrows to one target, then adds its passes
    browser.find_element(By.CSS_SELECTOR, "#ps-filters input[type=text]").send_keys("exch01")
    wait_for(lambda: visible_rows(browser) == expected_rows(doc, {"fail", "error", "waived"}, "exch01"))
    chip(browser, "Pass").click()
    wait_for(lambda: visible_rows(browser) == expected_rows(doc, {"fail", "error", "waived", "pass"}, "exch01"))
    assert any(status == "Pass" for status, _, _ in visible_rows(browser))

    # a row's details: message, evidence, remediation of that very result
    browser.find_element(By.CSS_SELECTOR, "#ps-filters input[type=text]").clear()
    chip(browser, "Pass").click()
    wait_for(lambda: visible_rows(browser) == problems)
    first_fail = next(r for r in doc["results"] if r["status"] == "fail")
    index = problems.index(("Fail", first_fail["target"], first_fail["rule"]))
    browser.find_elements(By.CSS_SELECTOR, "#ps-table tr.row")[index].click()
    detail = browser.find_element(By.CSS_SELECTOR, "#ps-table tr.detail").text
    assert first_fail["message"] in detail and first_fail["remediation"][:60] in detail
    assert first_fail["evidence"][0]["source"] in detail

    # the charts are there: one row per severity, ranked failing rules, a matrix row per target
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ps-severity .hbar")) == 5
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ps-ranking .hbar")) >= 1
    cells = browser.find_elements(By.CSS_SELECTOR, "#ps-matrix rect.cell")
    assert len(cells) == len(doc["results"])

    # clicking a matrix cell shows that one result
    browser.execute_script("arguments[0].scrollIntoView()", cells[0])
    cells[0].click()
    wait_for(lambda: len(visible_rows(browser)) == 1)

    png = browser.get_screenshot_as_png()
    (tmp_path / "screenshot.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 1000
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, "a blank or error page"
    assert console_errors(browser) == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # loads nothing
    if os.environ.get("POLICYSCAN_KEEP_SCREENSHOT"):
        shutil.copy(tmp_path / "screenshot.png", os.environ["POLICYSCAN_KEEP_SCREENSHOT"])


def hostile_fleet(where: Path) -> Path:
    """The example fleet, plus a queue record and a .reg export carrying hostile text."""
    shutil.copytree(ROOT / "examples", where, dirs_exist_ok=True)
    with open(where / "logs" / "exch02" / "queues.txt", "a", encoding="utf-8") as f:
        f.write(f"\nIdentity         : EXCH02\\13\nStatus           : Retry\n"
                f"LastError        : 421 4.4.2 Connection dropped due to SocketError {HOSTILE_SCRIPT} {HOSTILE_IMG}\n")
    value = HOSTILE_IMG.replace('"', '\\"')
    (where / "exports" / "hostile.reg").write_text(
        "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\"
        f'Protocols\\TLS 1.2\\Client]\r\n"Enabled"="{HOSTILE_SCRIPT}"\r\n"DisabledByDefault"="{value}"\r\n',
        encoding="latin-1",
    )
    with open(where / "inventory.yaml", "a", encoding="utf-8") as f:
        f.write("  - name: hostile\n    labels: {role: exchange}\n    registry: {file: exports/hostile.reg}\n")
    return where / "inventory.yaml"


def test_hostile_evidence_stays_text_and_runs_nothing(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    html, doc = scan(tmp_path, hostile_fleet(tmp_path / "fleet"))
    carrying = [r for r in doc["results"] if "__pwned" in json.dumps(r)]
    assert {r["target"] for r in carrying} == {"exch02", "hostile"}
    open_report(browser, html)
    browser.find_element(By.CSS_SELECTOR, "#ps-filters input[type=search]").send_keys("__pwned")
    wait_for(lambda: sorted(visible_rows(browser)) == sorted(
        (LABEL[r["status"]], r["target"], r["rule"]) for r in carrying))
    for row in browser.find_elements(By.CSS_SELECTOR, "#ps-table tr.row"):
        row.click()
    text = browser.find_element(By.ID, "ps-table").text
    assert HOSTILE_SCRIPT in text and HOSTILE_IMG in text  # shown literally
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.execute_script("return document.images.length") == 0
    assert browser.execute_script("return document.scripts.length") == 3  # ours: two data blocks and the script
    assert console_errors(browser) == []


def test_large_fleet_becomes_interactive_and_pages(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import registry as bench_registry  # bench/registry.py: regedit-style exports for N targets
    finally:
        sys.path.remove(str(ROOT / "bench"))
    inventory = bench_registry.generate(tmp_path / "fleet", 2000)
    html, doc = scan(tmp_path, inventory, "--jobs", "2")
    assert len(doc["targets"]) == 2000 and len(doc["results"]) == 2000 * 41
    seconds = open_report(browser, html, timeout=90)
    assert seconds < 60, f"{seconds:.1f} s to become interactive"
    problems = expected_rows(doc, {"fail", "error", "waived"})
    assert visible_rows(browser) == problems[:50]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ps-matrix rect.cell")) == 40 * 41  # one page of targets
    # the next page of rows, then a search over 82,000 results
    browser.find_element(By.XPATH, "//div[@id='ps-table']//button[contains(., 'Next')]").click()
    wait_for(lambda: visible_rows(browser) == problems[50:100])
    start = time.monotonic()
    browser.find_element(By.CSS_SELECTOR, "#ps-filters input[type=search]").send_keys("exch01999")
    wait_for(lambda: visible_rows(browser) == [p for p in problems if p[1] == "exch01999"][:50], timeout=30)
    assert time.monotonic() - start < 20
    assert console_errors(browser) == []


def test_rows_the_tables_do_not_index_and_an_empty_report(browser: Any, tmp_path: Path) -> None:
    """Results whose rule is not in the policies given (fallback rows), a waiver, control
    characters, a title with markup characters; then a report with no result at all."""
    from sample_reports import TRICKY_TITLE, WAIVER, sample_report
    from selenium.webdriver.common.by import By

    from scanner.api import ReportOptions
    from scanner.reporters import html_report

    report = sample_report()
    path = tmp_path / "sample.html"
    with open(path, "w", encoding="utf-8", newline="") as stream:
        html_report.write(report, stream, ReportOptions())
    open_report(browser, path)
    expected = [(LABEL[str(r.status)], r.target, r.rule) for r in report.results]
    assert visible_rows(browser) == [row for row in expected if row[0] in ("Fail", "Error", "Waived")]
    chip(browser, "Pass").click()
    chip(browser, "Skip").click()
    wait_for(lambda: visible_rows(browser) == expected)
    assert TRICKY_TITLE in browser.find_element(By.ID, "ps-table").text
    waived = [i for i, row in enumerate(expected) if row[0] == "Waived"]
    row = browser.find_elements(By.CSS_SELECTOR, "#ps-table tr.row")[waived[0]]
    row.send_keys("\n")  # rows open from the keyboard too
    detail = browser.find_element(By.CSS_SELECTOR, "#ps-table tr.detail").text
    assert WAIVER["reason"] in detail and WAIVER["expires"] in detail
    assert console_errors(browser) == []

    empty = tmp_path / "empty.html"
    with open(empty, "w", encoding="utf-8", newline="") as stream:
        html_report.write(sample_report([]), stream, ReportOptions())
    open_report(browser, empty)
    assert visible_rows(browser) == []
    assert "Nothing was checked" in browser.find_element(By.TAG_NAME, "header").text
    assert console_errors(browser) == []
