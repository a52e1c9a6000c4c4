"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, which downloads no
browser when given the executable. One browser per test session; each page load records what
a user's browser would do with the file: every network request, console error and page error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes start it (headless=True adds --headless): no sandbox as root, no GPU,
# and none of Chromium's own background traffic (updates, sync), which a closed network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


# Bars a user sees: a width, and inside the chart's plot area (a chart drawn for another width
# keeps its bars in the DOM, clipped away); legend entries inside the chart.
_VISIBLE = """(id) => {
  const gd = document.getElementById(id);
  const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const box = gd.getBoundingClientRect();
  const inside = (r, a) => r.left >= a.left - 1 && r.right <= a.right + 1
    && r.top >= a.top - 1 && r.bottom <= a.bottom + 1;
  const bars = [...gd.querySelectorAll('.barlayer .point path')]
    .filter(p => { const r = p.getBoundingClientRect(); return r.width > 0 && inside(r, area); });
  const legend = [...gd.querySelectorAll('.legend .traces')].filter(t => inside(t.getBoundingClientRect(), box));
  return [bars.length, legend.length];
}"""


@dataclass
class Loaded:
    page: Any  # playwright.sync_api.Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())

    def visible_bars_and_legend(self, chart_id: str) -> tuple[int, int]:
        """(bars drawn inside the plot area, legend entries inside the chart) of one plotly chart."""
        bars, legend = self.page.evaluate(_VISIBLE, chart_id)
        return int(bars), int(legend)


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A persistent context on a fresh, empty user-data-dir (profile): the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def load(context: Any, path: Path, settle_ms: int = 300) -> Loaded:
    """Open path as file://; every request other than the file itself is aborted and recorded."""
    page = context.new_page()
    url = path.resolve().as_uri()
    out = Loaded(page)
    page.on("request", lambda r: out.requests.append(r.url))
    page.on("console", lambda m: out.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: out.page_errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    page.goto(url, wait_until="load")
    page.wait_for_timeout(settle_ms)
    return out
