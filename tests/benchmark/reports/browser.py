"""A real headless browser (Debian's ``chromium``) opening a report page from disk, for the report tests.

:func:`load_page` opens a copy of the page, next to it (so every relative path is the same), with a script appended
that, once the page and its images have loaded, writes each image's source and natural size into the DOM; Chromium
prints the DOM (``--dump-dom``) after its virtual time budget. An image the browser could not decode or find has a
natural width of 0: that is how a broken image is detected, by the browser itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["CHROMIUM_NAMES", "find_chromium", "LoadedPage", "load_page", "screenshot"]

#: Executables tried, in order (Debian: package ``chromium``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--allow-file-access-from-files")
_PROBE = """<script>window.addEventListener("load", function () {
  var found = [];
  for (const image of document.images) {
    found.push([image.getAttribute("src"), image.complete, image.naturalWidth, image.naturalHeight]);
  }
  document.body.setAttribute("data-images", JSON.stringify(found));
});</script>"""


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@dataclass(frozen=True)
class LoadedPage:
    """What the browser saw: each image (src, complete, natural width and height), the tables' captions, the
    figure captions, and every link target."""

    images: list[tuple[str, bool, int, int]]
    table_captions: list[str]
    figure_captions: list[str]
    links: list[str]

    @property
    def broken_images(self) -> list[str]:
        return [src for src, complete, width, _ in self.images if not complete or width == 0]


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images_json = ""
        self.captions: list[str] = []
        self.figcaptions: list[str] = []
        self.links: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "body" and values.get("data-images"):
            self.images_json = values["data-images"] or ""
        if tag == "a" and values.get("href") and not str(values["href"]).startswith("#"):
            self.links.append(str(values["href"]))
        if tag in ("caption", "figcaption"):
            self._open = self.captions if tag == "caption" else self.figcaptions
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("caption", "figcaption"):
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[-1] += data


def _run(chromium: str, *args: str, timeout_s: float = 120.0) -> str:
    result = subprocess.run([chromium, *_FLAGS, *args], capture_output=True, text=True, timeout=timeout_s,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{chromium} exited with {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout


def load_page(chromium: str, page: Path) -> LoadedPage:
    """Open ``page`` (a copy with the probe script, next to it) and return what the browser loaded."""
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    try:
        dom = _run(chromium, "--virtual-time-budget=15000", "--dump-dom", probe.resolve().as_uri())
    finally:
        probe.unlink()
    parser = _Dom()
    parser.feed(dom)
    if not parser.images_json:
        raise RuntimeError(f"the probe script did not run in {chromium} (no data-images attribute in the DOM)")
    images = [(str(s), bool(c), int(w), int(h)) for s, c, w, h in json.loads(parser.images_json)]
    return LoadedPage(images, parser.captions, parser.figcaptions, parser.links)


def screenshot(chromium: str, page: Path, out: Path, *, width: int = 1400, height: int = 3000) -> Path:
    """A PNG screenshot of ``page`` at ``width`` x ``height`` pixels."""
    _run(chromium, f"--window-size={width},{height}", f"--screenshot={out.resolve()}", page.resolve().as_uri())
    return out
