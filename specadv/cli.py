"""The ``specadv`` command: ``specadv run [--profile NAME|FILE] [--data DIR] [--device ...]``."""
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
    g = sub.add_parser("corpus", help="write the embedded corpus to a folder")
    g.add_argument("out_dir")
    g.add_argument("--clips-per-genre", type=int, default=10)
    g.add_argument("--seconds", type=float, default=30.0)
    g.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
