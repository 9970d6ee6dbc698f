"""Check that the project's dependencies resolve on each supported Python, without
installing anything: pip's resolver in a dry run for another interpreter version
(``--python-version``, wheels only), against the indexes pip is configured with.

Two resolutions per version: the ranges of pyproject.toml (what ``pip install specadv``
gets: the newest versions that fit), and the same pinned by constraints.txt (what
``make setup`` installs). The project itself is not built: its requirements are read
from pyproject.toml, and its ``requires-python`` is checked against the version.

    python .ci/check_resolution.py [--python 3.11 3.12 3.13] [--extras test]

Prints one line per version and resolution, exits 1 if any fails. Needs the package
index (network, or a mirror), so it is a CI step, not a test.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("torch", "numpy", "scipy", "pandas", "jupyter-book", "sphinx")


def requirements(extras: list[str]) -> tuple[str, list[str]]:
    """(requires-python, the requirement strings of the package and the given extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        try:
            reqs += project["optional-dependencies"][extra]
        except KeyError:
            sys.exit(f"pyproject.toml: no extra '{extra}' in [project.optional-dependencies]")
    return project["requires-python"], reqs


def resolve(python: str, reqs: list[str], constraints: Path | None) -> dict:
    """pip's dry-run report for ``reqs`` on Python ``python`` (its ``install`` list)."""
    with tempfile.TemporaryDirectory() as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("\n".join(reqs) + "\n")
        # "3.11" alone is 3.11.0 to pip, which a Requires-Python ">=3.11.5" (soupsieve's)
        # refuses: check against the newest patch release of the version, as installed today
        full = python if python.count(".") >= 2 else f"{python}.99"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--quiet", "--report", "-", "--python-version", full,
               "--only-binary=:all:", "--target", str(Path(tmp) / "target"),  # (never written)
               "-r", str(req_file)]
        if constraints:
            cmd += ["-c", str(constraints)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if not line.startswith("WARNING")]
        return {"error": "\n    ".join(errors[-12:]) or "(no message)"}
    report = json.loads(proc.stdout)
    return {"versions": {i["metadata"]["name"].lower(): i["metadata"]["version"]
                         for i in report["install"]}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", nargs="+", default=["3.11", "3.12", "3.13"])
    parser.add_argument("--extras", nargs="*", default=["test"])
    args = parser.parse_args(argv)
    requires_python, reqs = requirements(args.extras)
    failed = False
    for python in args.python:
        if python not in SpecifierSet(requires_python):
            print(f"Python {python}: refused by requires-python = {requires_python!r}")
            failed = True
            continue
        for label, constraints in (("ranges", None), ("constraints.txt", ROOT / "constraints.txt")):
            result = resolve(python, reqs, constraints)
            if "error" in result:
                print(f"Python {python}, {label}: FAILS: {result['error']}")
                failed = True
                continue
            v = result["versions"]
            shown = ", ".join(f"{n} {v[n]}" for n in SHOWN if n in v)
            print(f"Python {python}, {label}: resolves, {len(v)} packages ({shown})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
