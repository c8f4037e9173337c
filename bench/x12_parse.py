"""X12 engine throughput and memory: generated 835/837 files parsed, balanced and denial-checked.

Run: python bench/x12_parse.py [--claims 100000] [--small 10000] [--pyx12-claims 5000]

Generates an 835 (several CAS per claim, 1-4 lines, PLBs) and an 837P and 837I with the same
number of claims into a temporary directory, then measures each file in a fresh child process
(so peak RSS is that run's own): claims per second on wall-clock and CPU time, peak RSS, and in
a second child the tracemalloc peak. The small and large files show whether memory stays flat.
Last, pyx12's loop reader (X12ContextReader.iter_segments) reads the first --pyx12-claims
claims of the same 835 and 837P (pyx12 is too slow for 100,000), and the per-claim rates are
compared with ours on that same slice. Needs `pip install -e .[x12-strict]` for pyx12.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rcm_feeds.x12 import synth


def generate(directory: Path, claims: int) -> dict[str, Path]:
    paths = {}
    for kind in ("835", "837P", "837I"):
        path = directory / f"{kind}-{claims}.x12"
        with path.open("wb") as out:
            if kind == "835":
                synth.write_835(out, claims, seed=7)
            else:
                synth.write_837(out, claims, kind=kind[-1], seed=7)
        paths[kind] = path
    return paths


def measure_ours(path: Path, use_tracemalloc: bool) -> dict[str, float]:
    """Parse + balance (+ denial rule on 835 claims), counting claims; runs in a child process."""
    from rcm_feeds.x12 import Claim, ClaimPayment, parse
    from rcm_feeds.x12.denials import claim_denials

    if use_tracemalloc:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    claims = denied = warnings = 0
    with path.open("rb") as stream:
        for record in parse(stream):
            kind = type(record)
            if kind is ClaimPayment:
                claims += 1
                denied += len(claim_denials(record))  # type: ignore[arg-type]
                warnings += len(record.warnings)  # type: ignore[union-attr]
            elif kind is Claim:
                claims += 1
                warnings += len(record.warnings)  # type: ignore[union-attr]
    result = {"claims": claims, "wall": time.perf_counter() - wall,
              "cpu": time.process_time() - cpu, "denials": denied, "warnings": warnings,
              "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if use_tracemalloc:
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
    return result


def measure_pyx12(path: Path) -> dict[str, float]:
    """pyx12's loop reader over the same file, reading each claim's money out of its loop."""
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    loop, element = ("2100", "CLP04") if "835" in path.name else ("2300", "CLM02")
    wall, cpu = time.perf_counter(), time.process_time()
    claims = 0
    with path.open() as stream:
        reader = pyx12.x12context.X12ContextReader(pyx12.params.params(),
                                                   pyx12.error_handler.errh_null(), stream)
        for node in reader.iter_segments(loop):
            if node.id == loop:
                node.get_value(element)
                claims += 1
    return {"claims": claims, "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu}


def child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--pyx12-claims", type=int, default=5_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        result = (measure_pyx12(Path(path)) if mode == "pyx12"
                  else measure_ours(Path(path), use_tracemalloc=mode == "traced"))
        print(json.dumps(result))
        return

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average at start "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sizes = sorted({args.small, args.claims})
        files = {n: generate(directory, n) for n in sizes}
        print(f"\n{'file':<8}{'claims':>9}{'MB':>7}{'claims/s wall':>15}{'claims/s cpu':>14}"
              f"{'peak RSS MB':>13}{'traced peak MB':>16}{'denials':>9}{'warnings':>9}")
        full_cpu_rate = {}
        for kind in ("835", "837P", "837I"):
            for n in sizes:
                path = files[n][kind]
                run = child("plain", str(path))
                full_cpu_rate[kind] = n / run["cpu"]
                traced = child("traced", str(path))
                assert run["claims"] == n, run
                print(f"{kind:<8}{n:>9,}{path.stat().st_size / 1e6:>7.1f}"
                      f"{n / run['wall']:>15,.0f}{n / run['cpu']:>14,.0f}{run['maxrss_mb']:>13.1f}"
                      f"{traced['traced_peak_mb']:>16.2f}{run['denials']:>9,}{run['warnings']:>9}")

        try:
            import pyx12  # noqa: F401
        except ImportError:
            print("\npyx12 is not installed (pip install -e .[x12-strict]): no comparison")
            return
        n = args.pyx12_claims
        if n <= 0:
            print("\n--pyx12-claims 0: no comparison with pyx12")
            print(f"load average at end {os.getloadavg()[0]:.1f}")
            return
        (directory / "slice").mkdir()
        head = generate(directory / "slice", n)
        print(f"\npyx12 loop reader vs ours on the first {n:,} claims of the same generator "
              "(pyx12 is too slow for the full file):")
        for kind in ("835", "837P"):
            theirs = child("pyx12", str(head[kind]))
            ours = child("plain", str(head[kind]))
            assert theirs["claims"] == ours["claims"] == n, (theirs, ours)
            print(f"  {kind}: pyx12 {n / theirs['wall']:,.0f} claims/s, ours "
                  f"{n / ours['wall']:,.0f} claims/s (parse + balance + denials): "
                  f"{theirs['wall'] / ours['wall']:.0f}x faster (cpu time: "
                  f"{theirs['cpu'] / ours['cpu']:.0f}x); per claim against ours on the "
                  f"{args.claims:,}-claim file (cpu): "
                  f"{full_cpu_rate[kind] / (n / theirs['cpu']):.0f}x")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
