"""Check the built documentation site, and a run report, in a real headless browser.

``python -m tools.docs.check_site build/site [--report demo/run.html]`` (``make
docs-check``) serves the site on localhost and opens it in Debian's Chromium, driven
through Debian's chromedriver by Selenium (both paths given, so Selenium Manager never
downloads anything). It checks:

- every page loads without a console error (any ``SEVERE`` browser log entry);
- nothing is fetched from outside: Chromium resolves no host but localhost (an external
  font, script or image would fail, and be a console error), and every resource the page
  loaded (``performance.getEntriesByType("resource")``) is on the local server;
- every image and ``<object>`` loaded with a non-zero natural size and is displayed, and
  every pattern page (building blocks excepted) and stack page shows at least one diagram;
- navigation: clicking a nav link lands on its page;
- search: typing a query into the built-in search lists results that link to pages.

:func:`check_run_report` does the same for the self-contained HTML run report of
``make demo`` (no console error, its diagrams displayed, the path the run took marked).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
#: How long a page may take to settle (load, images, search index) on a busy machine.
TIMEOUT_SECONDS = 30.0
#: The query typed into the search box, and a page its results must include.
SEARCH_QUERY = "reconciliation"
SEARCH_EXPECTED_PAGE = "patterns/ingestion.html"
#: The nav link clicked from the home page, and the heading of the page it leads to.
NAV_LINK_TEXT = "Event-driven ingestion"
NAV_EXPECTED_PAGE = "patterns/ingestion.html"
#: The elements of the path a run took, as the run report marks them
#: (analytics_orchestration.testing.report: ``data-taken="true"``).
TAKEN_PATH_SELECTOR = "[data-taken='true']"

_T = TypeVar("_T")

#: Every image and object of the document: where from, natural and rendered size.
_MEDIA_SCRIPT = """
const media = [];
for (const img of document.images) {
  const box = img.getBoundingClientRect();
  media.push({kind: "img", src: img.currentSrc || img.src, complete: img.complete,
              naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
              width: box.width, height: box.height});
}
for (const object of document.querySelectorAll("object")) {
  const box = object.getBoundingClientRect();
  const doc = object.contentDocument;
  const root = doc && doc.documentElement;
  const size = root && root.getBoundingClientRect ? root.getBoundingClientRect() : null;
  media.push({kind: "object", src: object.data, complete: !!root,
              naturalWidth: size ? size.width : 0, naturalHeight: size ? size.height : 0,
              width: box.width, height: box.height});
}
return media;
"""
_RESOURCES_SCRIPT = "return performance.getEntriesByType('resource').map(e => e.name);"


@dataclass
class PageResult:
    """What one page showed."""

    path: str
    diagrams: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class SiteResult:
    """What the whole check found."""

    pages: list[PageResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def all_problems(self) -> list[str]:
        return self.problems + [f"{p.path}: {problem}" for p in self.pages
                                for problem in p.problems]


# ------------------------------------------------------------------------ the server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not worth a line each."""


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free localhost port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------- the browser
@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """Headless Chromium through chromedriver, recording the console, offline but for localhost."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).is_file():
            raise SystemExit(f"{binary} is missing: apt-get install chromium chromium-driver "
                             "(make docs-check installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update",
                     # Nothing but the local server resolves: an external fetch fails.
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(condition: Callable[[], _T | None], what: str,
          timeout: float = TIMEOUT_SECONDS) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def console_errors(driver: Any) -> list[str]:
    """The console errors since the last call (the log is drained as it is read)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def _settle(driver: Any) -> list[dict[str, Any]]:
    """Wait for the document and every image and object; returns the media.

    Media still incomplete after the timeout are returned as they are (and reported).
    """
    _wait(lambda: driver.execute_script("return document.readyState") == "complete",
          "the document to load")

    def loaded() -> tuple[list[dict[str, Any]]] | None:
        media: list[dict[str, Any]] = driver.execute_script(_MEDIA_SCRIPT)
        return (media,) if all(m["complete"] for m in media) else None

    try:
        return _wait(loaded, "every image to load")[0]
    except TimeoutError:
        media: list[dict[str, Any]] = driver.execute_script(_MEDIA_SCRIPT)
        return media


def media_problems(media: list[dict[str, Any]]) -> list[str]:
    """Images or objects that did not load or are not displayed."""
    return [f"{m['kind']} {m['src']} is not displayed (natural {m['naturalWidth']}x"
            f"{m['naturalHeight']}, shown {m['width']:.0f}x{m['height']:.0f})"
            for m in media
            if not (m["complete"] and m["naturalWidth"] > 0 and m["naturalHeight"] > 0
                    and m["width"] > 0 and m["height"] > 0)]


def _is_diagram(src: str) -> bool:
    return "/generated/diagrams/" in src or src.startswith("data:image/svg")


def expects_diagram(path: str) -> bool:
    """Pattern pages (building blocks excepted) and stack pages show diagrams."""
    section, _, page = path.partition("/")
    return (section in {"patterns", "stacks"} and page != "index.html"
            and page != "building-blocks.html")


def check_page(driver: Any, base: str, path: str) -> PageResult:
    result = PageResult(path)
    driver.get(base + path)
    media = _settle(driver)
    result.problems += media_problems(media)
    result.diagrams = sum(1 for m in media if _is_diagram(str(m["src"])))
    if expects_diagram(path) and not result.diagrams:
        result.problems.append("no diagram on the page")
    external = [url for url in driver.execute_script(_RESOURCES_SCRIPT)
                if not str(url).startswith(base)]
    result.problems += [f"fetched from outside: {url}" for url in external]
    result.problems += [f"console error: {message}" for message in console_errors(driver)]
    return result


def check_navigation(driver: Any, base: str) -> list[str]:
    """Click a nav link on the home page; it must lead to its page."""
    from selenium.webdriver.common.by import By

    driver.get(base + "index.html")
    _settle(driver)
    links = [link for link in driver.find_elements(By.CSS_SELECTOR, "nav.md-nav a.md-nav__link")
             if link.text.strip() == NAV_LINK_TEXT and link.is_displayed()]
    if not links:
        return [f"navigation: no visible nav link {NAV_LINK_TEXT!r} on the home page"]
    links[0].click()
    try:
        _wait(lambda: driver.current_url.endswith(NAV_EXPECTED_PAGE), NAV_EXPECTED_PAGE)
    except TimeoutError:
        return [f"navigation: clicking {NAV_LINK_TEXT!r} led to {driver.current_url}"]
    heading = driver.find_element(By.CSS_SELECTOR, "article h1").text
    problems = [f"console error: {m}" for m in console_errors(driver)]
    if NAV_LINK_TEXT not in heading:
        problems.append(f"navigation: {NAV_EXPECTED_PAGE} shows the heading {heading!r}")
    return problems


def check_search(driver: Any, base: str) -> tuple[list[str], int]:
    """Type a query into the search box; returns the problems and the number of results."""
    from selenium.webdriver.common.by import By

    driver.get(base + "index.html")
    _settle(driver)
    def visible(selector: str) -> Any:
        return next((e for e in driver.find_elements(By.CSS_SELECTOR, selector)
                     if e.is_displayed()), None)

    if visible("input.md-search__input") is None:  # narrow screens: open the search first
        opener = visible("label[for='__search']")
        if opener is None:
            return ["search: no search box and no search button on the home page"], 0
        opener.click()
    box = _wait(lambda: next((e for e in driver.find_elements(By.CSS_SELECTOR,
                                                                "input.md-search__input")
                              if e.is_displayed()), None), "the search box")
    box.send_keys(SEARCH_QUERY)
    try:
        results = _wait(lambda: driver.find_elements(By.CSS_SELECTOR,
                                                     "li.md-search-result__item a"),
                        f"results for {SEARCH_QUERY!r}")
    except TimeoutError as error:
        return [f"search: {error}"], 0
    hrefs = [str(a.get_attribute("href")) for a in results]
    problems = [f"console error: {m}" for m in console_errors(driver)]
    if not any(SEARCH_EXPECTED_PAGE in href for href in hrefs):
        problems.append(f"search: no result for {SEARCH_QUERY!r} links to "
                        f"{SEARCH_EXPECTED_PAGE} ({hrefs[:5]})")
    return problems, len(results)


def site_pages(site: Path) -> list[str]:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    if "index.html" not in pages:
        raise SystemExit(f"{site} holds no index.html: run make docs first")
    return pages


def check_site(site: Path) -> tuple[SiteResult, int]:
    """Every page, navigation and search; returns the result and the search hit count."""
    started = time.monotonic()
    result = SiteResult()
    hits = 0
    with serve(site) as base, browser() as driver:
        for path in site_pages(site):
            result.pages.append(check_page(driver, base, path))
        result.problems += check_navigation(driver, base)
        search_problems, hits = check_search(driver, base)
        result.problems += search_problems
    result.seconds = time.monotonic() - started
    return result, hits


# ------------------------------------------------------------------------ the report
_INLINE_SVG_SCRIPT = """
return Array.from(document.querySelectorAll("svg")).filter(svg => !svg.closest("svg svg"))
  .map(svg => { const box = svg.getBoundingClientRect(); return [box.width, box.height]; });
"""


def check_run_report(report: Path) -> PageResult:
    """The HTML run report: no console error, its diagrams shown, the taken path marked.

    Opened from disk (``file://``), as a user opens the self-contained file: anything it
    fetched that is not that file (or a ``data:`` URI inside it) is reported.
    """
    from selenium.webdriver.common.by import By

    if not report.is_file():
        raise SystemExit(f"no run report at {report}: run make demo first")
    result = PageResult(report.name)
    url = report.resolve().as_uri()
    with browser() as driver:
        driver.get(url)
        media = _settle(driver)
        result.problems += media_problems(media)
        inline = driver.execute_script(_INLINE_SVG_SCRIPT)
        shown = [size for size in inline if size[0] > 0 and size[1] > 0]
        result.diagrams = len(media) + len(shown)
        if not result.diagrams:
            result.problems.append("no diagram displayed in the report")
        if not driver.find_elements(By.CSS_SELECTOR, TAKEN_PATH_SELECTOR):
            result.problems.append(f"no element marks the path taken ({TAKEN_PATH_SELECTOR})")
        external = [name for name in driver.execute_script(_RESOURCES_SCRIPT)
                    if str(name) != url and not str(name).startswith("data:")]
        result.problems += [f"fetched: {name}" for name in external]
        result.problems += [f"console error: {m}" for m in console_errors(driver)]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the built site in headless Chromium.")
    parser.add_argument("site", type=Path, help="the built site (build/site)")
    parser.add_argument("--report", type=Path, help="also check this HTML run report")
    args = parser.parse_args(argv)
    result, hits = check_site(args.site)
    problems = result.all_problems
    diagrams = sum(p.diagrams for p in result.pages)
    print(f"{len(result.pages)} pages, {diagrams} diagrams displayed, navigation and search "
          f"({hits} results for {SEARCH_QUERY!r}) checked in {result.seconds:.1f} s")
    if args.report is not None:
        report = check_run_report(args.report)
        print(f"{args.report}: {report.diagrams} diagrams, taken path marked"
              if not report.problems else f"{args.report}: {len(report.problems)} problems")
        problems += [f"{args.report}: {p}" for p in report.problems]
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
