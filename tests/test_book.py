"""The built book, in a real browser: every page loads, every player can play, every
image has a size. Builds the smoke book with the runner (the cached smoke run makes a
second build fast) and drives Debian's chromium with playwright."""
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import pytest

from project_copy import copy_project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The smoke book, built by the runner in a copy of the project: the reader's own
    book, its generated pages and its runs stay as they were."""
    from specadv.runner import build_book, execute_notebooks

    root = copy_project(tmp_path_factory.mktemp("project"))
    execute_notebooks({"profile": "smoke", "data": "", "device": ""}, root=root,
                      log=lambda *_: None)
    return build_book(root, log=lambda *_: None).parent


def test_every_page_loads_plays_and_shows_its_images(built_book, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: .ci/run installs it (apt-get)"
    pages = sorted(p for p in built_book.rglob("*.html")
                   if p.name not in ("genindex.html", "search.html") and "_static" not in p.parts
                   and 'http-equiv="Refresh"' not in p.read_text())  # the index redirect
    assert any("06_paper_page" in p.name for p in pages)
    handler = partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    n_audio = 0
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            for html in pages:
                for url in (f"{base}/{html.relative_to(built_book).as_posix()}", html.as_uri()):
                    response = page.goto(url)
                    assert response is None or response.ok, url
                    page.wait_for_load_state("load")
                    audio = page.eval_on_selector_all("audio", """els => Promise.all(els.map(a =>
                        new Promise(done => {
                            const report = () => done({src: a.currentSrc, ready: a.readyState,
                                                        error: a.error && a.error.code});
                            if (a.readyState > 0 || a.error) return report();
                            a.addEventListener('loadedmetadata', report);
                            a.addEventListener('error', report);
                            a.load(); setTimeout(report, 5000);
                        })))""")
                    for a in audio:
                        assert a["error"] is None and a["ready"] > 0, (url, a)
                    n_audio += len(audio)
                    images = page.eval_on_selector_all(
                        "img", "els => els.map(i => [i.src, i.complete, i.naturalWidth])")
                    for src, complete, width in images:
                        assert complete and width > 0, (url, src)
                if "06_paper_page" in html.name:
                    page.goto(html.as_uri())
                    page.screenshot(path=str(built_book.parent / "paper_page.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    assert n_audio >= 2 * 10 * 4  # the paper page alone: 10 genres x (original + 3 rows) x 2
