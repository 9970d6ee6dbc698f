"""The files a reader installs and cites from agree with each other: the ranges of
pyproject.toml and the pins of constraints.txt, every install path using the pins, the
licence and the citation against the package and the repository's address."""
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from project_copy import PROJECT

PROJECT_TABLE = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]


def _pins() -> dict:
    pins = {}
    for line in (PROJECT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_pin_every_dependency_inside_its_range():
    pins = _pins()
    reqs = [Requirement(r) for r in PROJECT_TABLE["dependencies"]
            + PROJECT_TABLE["optional-dependencies"]["test"]]
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt pins no version of {req.name} (pyproject.toml)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt: {req.name}=={pins[name]} is outside pyproject.toml's "
            f"'{req.specifier}': move the range or the pin")
    assert "<3.12" not in PROJECT_TABLE["requires-python"]  # Colab's and newer Pythons


def test_every_install_path_installs_with_the_constraints():
    assert "-c constraints.txt" in (PROJECT / "Makefile").read_text()
    env = yaml.safe_load((PROJECT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip and "-e ." in pip  # no test tools for readers
    binder = (PROJECT / "binder" / "requirements.txt").read_text().splitlines()
    assert "-c ../constraints.txt" in binder and "-e ." in binder
    assert any("download.pytorch.org/whl/cpu" in line for line in binder + pip)


def test_licence_and_citation_match_the_package_and_the_repository():
    assert PROJECT_TABLE["license"] == {"text": "MIT"}
    assert (PROJECT / "LICENSE").read_text().startswith("MIT License\n")
    cff = yaml.safe_load((PROJECT / "CITATION.cff").read_text())
    config = yaml.safe_load((PROJECT / "_config.yml").read_text())
    assert cff["license"] == "MIT" and cff["version"] == PROJECT_TABLE["version"]
    assert cff["repository-code"] == config["repository"]["url"]
    assert cff["url"] == config["html"]["baseurl"]
    paper = cff["references"][0]
    assert paper["title"].startswith("Cross-Representation Transferability") and \
        paper["year"] == 2020
