"""The built book, in a real browser: every page loads, every player can play, every
image has a size. Builds the smoke book with the runner (the cached smoke run makes a
second build fast) and drives Debian's chromium with playwright."""
import ast
import html as htmllib
import http.server
import json
import re
import shutil
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from project_copy import PROJECT, copy_project

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
                shots = {"06_paper_page": "paper_page.png", "07_transfer": "summary.png",
                         "08_explorer": "explorer.png"}
                for stem, shot in shots.items():  # for a reader of the test's log
                    if stem in html.name:
                        page.goto(html.as_uri())
                        page.screenshot(path=str(built_book.parent / shot), full_page=True)
                        print(f"screenshot: {built_book.parent / shot}")
            for width in (1280, 800):  # a laptop, and a narrow window (the sidebar folds away)
                page.set_viewport_size({"width": width, "height": 900})
                for html in pages:
                    page.goto(f"{base}/{html.relative_to(built_book).as_posix()}")
                    page.wait_for_load_state("load")
                    wide = page.evaluate(OVERFLOW_JS)
                    assert wide == [], (width, html.name, wide[:5])
            page.goto(f"{base}/book/references.html")
            entries = page.eval_on_selector_all(
                ".citation", "els => els.map(e => e.innerText.toLowerCase())")
            assert len(entries) >= 15, entries  # every work the chapters cite
            assert any("cross-representation transferability" in e for e in entries)
            assert any("musical genre classification of audio signals" in e for e in entries)
            page.goto(f"{base}/book/intro.html")  # citations link to the references page
            assert page.eval_on_selector_all('a[href*="references.html#"]', "els => els.length") >= 3
            browser.close()
    finally:
        server.shutdown()
    assert n_audio >= 2 * 10 * 4  # the paper page alone: 10 genres x (original + 3 rows) x 2


# Every <audio> and every table inside the article, whose box runs past the article's
# content box (padding excluded); elements not displayed (zero width) are skipped.
OVERFLOW_JS = """() => {
    const main = document.querySelector('.bd-article') || document.querySelector('main');
    const box = main.getBoundingClientRect(), cs = getComputedStyle(main);
    const left = box.left + parseFloat(cs.paddingLeft) - 1;
    const right = box.right - parseFloat(cs.paddingRight) + 1;
    return [...main.querySelectorAll('audio, table')].flatMap(el => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || (r.left >= left && r.right <= right)) return [];
        const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
        return [`${name}: ${Math.round(r.left)}..${Math.round(r.right)} px, ` +
                `column ${Math.round(left)}..${Math.round(right)} px`];
    });
}"""


def test_the_static_explorer_works_from_disk_with_no_network(built_book):
    """The explorer page opened from file:// with every non-file request refused: a
    selector swaps the players, the images and the table, and the new player loads."""
    from playwright.sync_api import sync_playwright

    page_path = next(built_book.rglob("08_explorer.html"))
    refused, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            ("file:", "data:")) else (refused.append(route.request.url), route.abort()))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        root = page.locator(".specadv-explorer")
        assert root.count() == 1

        def view():
            return page.evaluate("""() => {
                const r = document.querySelector('.specadv-explorer');
                return {state: r.dataset.state, table: r.querySelector('tbody').innerText,
                        audio: [...r.querySelectorAll('audio')].map(a => a.getAttribute('src')),
                        images: [...r.querySelectorAll('img')].map(i => [i.src, i.complete,
                                                                          i.naturalWidth])};
            }""")

        def players_load():
            return page.eval_on_selector_all(".specadv-explorer audio", """els => Promise.all(
                els.map(a => new Promise(done => {
                    const report = () => done([a.readyState, a.error && a.error.code]);
                    if (a.readyState > 0 || a.error) return report();
                    a.addEventListener('loadedmetadata', report);
                    a.addEventListener('error', report);
                    a.load(); setTimeout(report, 5000);
                })))""")

        first = view()
        assert len(first["audio"]) == 3 and all(r > 0 and e is None for r, e in players_load())
        options = page.eval_on_selector_all('select[data-axis="attack"] option',
                                            "els => els.map(o => o.textContent)")
        assert "random sign (control)" in options and "BIM" in options
        page.select_option('select[data-axis="attack"]', label="random sign (control)")
        second = view()
        assert second["state"] != first["state"] and second["table"] != first["table"]
        assert "random sign" in second["table"]
        assert second["audio"][2] != first["audio"][2]  # the adversarial player swapped
        assert second["audio"][:2] == first["audio"][:2]  # the original and clean stay
        assert second["images"][1][0] != first["images"][1][0]  # the perturbation swapped
        assert all(r > 0 and e is None for r, e in players_load())
        page.select_option('select[data-axis="eps"]', label="1 dB")
        page.select_option('select[data-axis="rep"]', index=1)
        third = view()
        assert third["audio"][2] not in (first["audio"][2], second["audio"][2])
        assert all(r > 0 and e is None for r, e in players_load())
        page.wait_for_function("() => [...document.querySelectorAll('.specadv-explorer img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)")
        browser.close()
    # the theme's own sphinx-thebe script declares THEBE_JS_URL twice on every page: not ours
    assert [e for e in errors if "THEBE_JS_URL" not in e] == [], errors


def test_every_launch_link_opens_a_notebook_of_the_repository_with_the_pages_representation(
        built_book):
    """Binder's and Colab's links on each chapter name a notebook committed in the
    repository, whose parameters cell opens it with the representation the page ran with
    (papermill's injected parameters in the page's executed notebook)."""
    sys.path.insert(0, str(PROJECT / "book" / "_ext"))
    from launch_paths import parameter_default

    root = built_book.parents[1]
    link = re.compile(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)/[^"]+)"')
    seen = {}
    for page in sorted((built_book / "book" / "generated").glob("*.html")):
        urls = {htmllib.unescape(u) for u in link.findall(page.read_text())}
        binder = [u for u in urls if "mybinder.org" in u]
        colab = [u for u in urls if "colab.research" in u]
        assert len(binder) == 1 and len(colab) == 1, (page.name, urls)
        paths = {binder[0].split("urlpath=lab/tree/", 1)[1],
                 re.sub(r"^.*?/blob/[^/]+/", "", colab[0])}
        assert len(paths) == 1, (page.name, paths)  # both open the same notebook
        path = paths.pop()
        assert path.startswith("notebooks/") and (PROJECT / path).is_file(), (page.name, path)
        executed = json.loads((root / "book" / "generated" / f"{page.stem}.ipynb").read_text())
        injected = next(c for c in executed["cells"]
                        if "injected-parameters" in c["metadata"].get("tags", []))
        ran_with = {t.id: ast.literal_eval(n.value) for n in ast.parse("".join(injected["source"])).body
                    for t in n.targets}.get("representation")
        opens_with = parameter_default(json.loads((PROJECT / path).read_text()))
        assert opens_with == ran_with, (page.name, path, opens_with, ran_with)
        seen[page.stem] = (path, ran_with)
    print("\n".join(f"{stem}: {path} ({rep})" for stem, (path, rep) in seen.items()))
    assert {rep for _, rep in seen.values()} == {None, "mel", "stft", "stft_paper"}
    assert seen["04_attacks_stft_paper"][0] == \
        "notebooks/by_representation/04_attacks_stft_paper.ipynb"
