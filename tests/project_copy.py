"""A copy of the project for tests that run the runner: they never write into this one."""
import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RUN_INPUTS = ("_toc.yml", "_config.yml", "references.bib", "notebooks", "book", "specadv")


def copy_project(dst: Path) -> Path:
    """A copy of what a run reads, without any output of an earlier run."""
    def outputs(folder, names):
        rel = Path(folder).relative_to(PROJECT).as_posix()
        return [n for n in names if f"{rel}/{n}" in ("book/generated", "book/_static/audio")
                or n in ("__pycache__", ".ipynb_checkpoints")]

    dst.mkdir(parents=True, exist_ok=True)
    for name in RUN_INPUTS:
        src = PROJECT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=outputs)
        else:
            shutil.copy2(src, dst / name)
    return dst
