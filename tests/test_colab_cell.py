"""Every notebook's first code cell installs the project on Colab, and only there."""
import subprocess
import sys

import nbformat
import pytest
import yaml

from project_copy import PROJECT

NOTEBOOKS = sorted((PROJECT / "notebooks").rglob("*.ipynb"))


def _first_code_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return code[0], code[1]


def _run(source, monkeypatch, colab: bool):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: calls.append((a, k)))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    namespace = {}
    exec(compile(source, "<colab cell>", "exec"), namespace)
    return calls, namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_the_colab_cell_comes_first_and_does_nothing_outside_colab(path, monkeypatch):
    cell, after = _first_code_cell(path)
    assert cell.get("id") == "colab-install", (
        f"{path}: its first code cell is not the Colab install cell (id 'colab-install')")
    assert "remove-cell" in cell.metadata.get("tags", [])  # never shown in the book
    assert "parameters" in after.metadata.get("tags", [])
    calls, namespace = _run(cell.source, monkeypatch, colab=False)
    assert calls == [] and set(namespace) - {"__builtins__"} == {"sys"}


@pytest.mark.parametrize("path", NOTEBOOKS[:1] + NOTEBOOKS[-1:],
                         ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_on_colab_the_cell_installs_the_project_from_its_repository(path, monkeypatch):
    url = yaml.safe_load((PROJECT / "_config.yml").read_text())["repository"]["url"]
    calls, _ = _run(_first_code_cell(path)[0].source, monkeypatch, colab=True)
    assert len(calls) == 1, calls
    (cmd,), kwargs = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and kwargs == {"check": True}
    assert cmd[-1] == f"specadv @ git+{url.rstrip('/')}", (
        f"{path}: the Colab cell installs {cmd[-1]!r}, and _config.yml's repository.url is "
        f"{url}: set that URL in the first code cell of every notebook, copies included")
