"""How long `scan` takes on a big tree, against the floor of reading and parsing every .py file once.

    python bench/scan.py [DIR]     (default: this interpreter's site-packages)

Both are measured in the same run, best of --repeat, so the ratio holds whatever the machine. The target
(issue 29, after issue 13's 1.0): the scan, following values through the project's functions, classes and
files, takes under half the time of parsing each file once (ratio <= 0.5). Prints one line per measure and
exits 1 when the ratio is over --max-ratio.
"""

from __future__ import annotations

import argparse
import ast
import sys
import sysconfig
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pool_doctor.scan import scan_path
from pool_doctor.scan.finder import Project


def parse_everything(root: Path) -> tuple[int, int]:
    """The baseline: read and ast.parse every .py file the scan would see, once."""
    parsed = failed = 0
    for path in Project(root.resolve(), root).files:
        try:
            ast.parse(path.read_bytes(), filename=str(path))
            parsed += 1
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            failed += 1
    return parsed, failed


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-ratio", type=float, default=0.5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", SyntaxWarning)  # invalid escapes in third-party files: not ours to report
    baseline, (parsed, failed) = best(lambda: parse_everything(args.root), args.repeat)  # type: ignore[misc]
    scan_seconds, report = best(lambda: scan_path(args.root), args.repeat)
    ratio = scan_seconds / baseline if baseline else 0.0
    print(f"tree: {args.root}")
    print(f"read + ast.parse every file: {baseline:.2f} s ({parsed} files, {failed} do not parse)")
    print(
        f"scan: {scan_seconds:.2f} s ({report.files_parsed} files parsed, "  # type: ignore[attr-defined]
        f"{len(report.pools)} pools, {len(report.warnings)} warnings)"
    )  # type: ignore[attr-defined]
    print(f"ratio scan / parse-everything: {ratio:.2f} (target <= {args.max_ratio})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
