"""Throughput of the golden model on a 4096 x 4096 matrix (``make bench``).

A measurement, not a test: prints elements per second (best of ``--repeat``
runs after one warm-up, one core) for each scheme, and writes them to
``reports/bench_golden.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import bitplane, fgmp, imunpack, mx, nvfp4


def _cases(w: np.ndarray, rng: np.random.Generator) -> dict:
    fisher = rng.random(w.shape)
    q_int8, _ = bitplane.quantize_int8(w)
    planes = bitplane.to_planes(q_int8)
    heavy, _ = imunpack.rtn(w, beta=15, p=0.99)
    return {
        "nvfp4.quantize": lambda: nvfp4.quantize(w),
        "mx.quantize fp4": lambda: mx.quantize(w, "fp4"),
        "mx.quantize fp8e4m3": lambda: mx.quantize(w, "fp8e4m3"),
        "fgmp.quantize_weights (30% FP8, clip)": lambda: fgmp.quantize_weights(w, fisher, 0.3),
        "fgmp.quantize_weights (30% FP8, no clip)": lambda: fgmp.quantize_weights(w, fisher, 0.3, clip=False),
        "bitplane.to_planes": lambda: bitplane.to_planes(q_int8),
        "bitplane.read_view k=4": lambda: bitplane.read_view(planes, 4),
        "imunpack.unpack_rows b=4": lambda: imunpack.unpack_rows(heavy, 4),
        "imunpack.unpack_cols b=4": lambda: imunpack.unpack_cols(heavy, 4),
    }


def main(argv=None, prog=None) -> dict:
    parser = argparse.ArgumentParser(prog=prog or "python -m golden.bench", description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_golden.json"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((args.size, args.size)).astype(np.float32)
    results = {}
    for name, run in tqdm(_cases(w, rng).items(), desc="golden bench", unit="case"):
        run()                                                   # warm-up: page faults, LUT builds
        best = min(_timed(run) for _ in range(args.repeat))
        results[name] = {"seconds": best, "elements_per_second": w.size / best}
    print(f"\nGolden-model throughput on a {args.size} x {args.size} float32 matrix "
          f"(best of {args.repeat}, one core):")
    for name, r in results.items():
        print(f"  {name:44s} {r['elements_per_second'] / 1e6:9.1f} M elements/s  ({r['seconds']:.3f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"size": args.size, "results": results}, indent=1))
    print(f"written to {args.out}")
    return results


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
