"""The ``specadv`` command: ``specadv run [--profile NAME|FILE] [--data DIR] [--device ...]``,
``specadv verify [--profile NAME|FILE]`` (the cache against its checksums), ``specadv corpus``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="specadv", description=(
        "Reproduce 'Cross-Representation Transferability of Adversarial Attacks: From "
        "Spectrograms to Audio Waveforms' (Koerich et al., IJCNN 2020) as a Jupyter Book."))
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the notebooks on a profile and build the book")
    r.add_argument("--profile", default=None, help="a built-in profile (smoke, demo, paper, "
                   "paper-filtered: GTZAN's fault-filtered split, rehearsal) or a YAML "
                   "profile file; default: $SPECADV_PROFILE or demo")
    r.add_argument("--data", default=None, help="a GTZAN folder (genres/ or "
                   "Data/genres_original/); replaces the profile's corpus")
    r.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                   help="where to compute (default: the profile's, auto = CUDA when present)")
    r.add_argument("--no-book", action="store_true", help="execute the notebooks only")
    v = sub.add_parser("verify", help="check every cache entry's files against the sizes "
                       "and checksums its manifest recorded, and report each that differs")
    v.add_argument("--profile", default=None, help="the profile (name or YAML file) whose run "
                   "folder to check; default: every run folder under $SPECADV_RUNS or runs/")
    v.add_argument("--remove", action="store_true", help="delete the damaged entries, so "
                   "that the next run computes them again")
    g = sub.add_parser("corpus", help="write the embedded corpus to a folder")
    g.add_argument("out_dir")
    g.add_argument("--clips-per-genre", type=int, default=10)
    g.add_argument("--seconds", type=float, default=30.0)
    g.add_argument("--seed", type=int, default=0)
    return p


def _run_folders(profile: str | None) -> list[Path]:
    """The run folders ``specadv verify`` checks: the profile's, or every one in use."""
    from specadv.artifacts import runs_folder

    runs = runs_folder()
    if profile is None:
        return sorted(p for p in runs.iterdir() if p.is_dir() and any(p.glob("*/*/")))\
            if runs.is_dir() else []
    name = profile
    if Path(profile).is_file():
        from specadv.profiles import load_profile

        name = load_profile(str(Path(profile).resolve())).name
    return [runs / name]


def verify(profile: str | None = None, remove: bool = False, out=print) -> int:
    """``specadv verify``: hash every file of every cache entry of the run folders
    (:func:`_run_folders`) and report each entry that does not match its manifest, with how
    to recompute it. Returns the exit status: 1 where an entry is damaged, else 0."""
    import shutil

    from specadv.artifacts import ArtifactError, entries_in, runs_folder

    folders = _run_folders(profile)
    if not folders or not all(f.is_dir() for f in folders):
        where = folders[0] if folders else runs_folder()
        print(f"specadv: error: no run folder to verify at {where} (set SPECADV_RUNS to the "
              "folder of your runs, or name a profile that has run)", file=sys.stderr)
        return 2
    damaged_any = False
    for folder in folders:
        entries = entries_in(folder)  # reads only: a read-only cache can be verified
        damaged, unverified, incomplete = [], [], []
        for entry in entries:
            try:
                problems = entry.check(full=True)
            except ArtifactError as exc:
                if entry.manifest_path.exists():
                    damaged.append((entry, [str(exc)]))
                else:
                    incomplete.append(entry)
                continue
            if problems is None:
                unverified.append(entry)
            elif problems:
                damaged.append((entry, problems))
        ok = len(entries) - len(damaged) - len(unverified) - len(incomplete)
        out(f"{folder}: {len(entries)} entries: {ok} match their checksums, {len(damaged)} "
            f"damaged, {len(unverified)} unverified, {len(incomplete)} incomplete")
        for entry, problems in damaged:
            out(f"  DAMAGED {entry.folder.relative_to(folder)}")
            for problem in problems:
                out(f"    {problem}")
            if remove:
                try:
                    with entry.lock():
                        shutil.rmtree(entry.folder)
                    out("    removed: the next run computes it again")
                except (OSError, ArtifactError) as exc:
                    out(f"    not removed ({getattr(exc, 'strerror', None) or exc}): delete "
                        f"{entry.folder} by hand")
            else:
                out(f"    to recompute it: delete {entry.folder} (or run `specadv verify "
                    f"--remove`), then run the profile again (`specadv run --profile "
                    f"{folder.name}`, or its YAML file)")
        if unverified:
            out(f"  {len(unverified)} unverified, written before checksums were recorded "
                "(used as they are; delete one to have it recomputed with checksums):")
            for entry in unverified:
                out(f"    {entry.folder.relative_to(folder)}")
        if incomplete:
            out(f"  {len(incomplete)} incomplete (an interrupted run's; the next run computes "
                "them again): " + ", ".join(str(e.folder.relative_to(folder)) for e in incomplete))
        damaged_any = damaged_any or bool(damaged)
    return 1 if damaged_any else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify":
        from specadv.artifacts import ArtifactError
        from specadv.profiles import ProfileError

        try:
            return verify(args.profile, args.remove)
        except (ProfileError, ArtifactError) as exc:  # a bad profile; --remove refused
            print(f"specadv: error: {exc}", file=sys.stderr)
            return 1
    if args.command == "corpus":
        from specadv.artifacts import ArtifactError
        from specadv.data import make_embedded_corpus

        try:
            out = make_embedded_corpus(args.out_dir, args.clips_per_genre, args.seconds,
                                       args.seed, progress=True)
        except OSError as exc:
            print(f"specadv: error: {exc.filename or args.out_dir}: cannot write the corpus here "
                  f"({exc.strerror}); choose a writable folder", file=sys.stderr)
            return 1
        except ArtifactError as exc:  # the atomic writer names the folder and the reason
            print(f"specadv: error: cannot write the corpus here: {exc}", file=sys.stderr)
            return 1
        print(out)
        return 0
    from specadv.artifacts import ArtifactError
    from specadv.data import CorpusError, find_genre_root
    from specadv.profiles import ProfileError
    from specadv.runner import RunError, run

    profile = args.profile
    if profile and Path(profile).exists():
        profile = str(Path(profile).resolve())  # notebooks run in another folder
    data = str(Path(args.data).expanduser().resolve()) if args.data else None
    if data:
        try:
            find_genre_root(data)  # a usage error: found before any notebook starts
        except CorpusError as exc:
            print(f"specadv: error: --data: {exc}", file=sys.stderr)
            return 2
    try:
        result = run(profile, data, args.device, book=not args.no_book)
    except (RunError, ProfileError, ArtifactError, CorpusError) as exc:
        print(f"specadv: error: {exc}", file=sys.stderr)
        return 1
    for name, seconds in result["notebooks"]:
        print(f"  {name:<40} {seconds:7.1f} s")
    if "index" in result:
        print(f"  {'book build':<40} {result['book_seconds']:7.1f} s")
        print(f"book: {result['index']}")
    print(f"total {result['total_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
