"""Profile chainrule on one of the suite's workloads: where does a step's time go?

    python benchmarks/workloads_profile.py w1_b256            # cProfile, top 25 by self time
    python benchmarks/workloads_profile.py w3 --top 40 --seconds 5
    py-spy record -o w4.svg -- python benchmarks/workloads_profile.py w4 --no-cprofile
    py-spy record -r 200 --format raw -o w1.txt -- \
        python benchmarks/workloads_profile.py w1_b256 --no-cprofile --seconds 8
    python benchmarks/workloads_profile.py summarize w1.txt    # self/inclusive % per function

The case is built exactly as the suite builds it (same sizes, same code) and checked against
the float64 reference first. cProfile's per-call overhead inflates the share of cheap Python
functions; py-spy (sampling, ``--no-cprofile``) does not, and sees time inside NumPy too.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main(argv=None) -> int:
    import suite
    import workloads_chainrule
    import workloads_common as common

    rows = {r.key: r for r in suite.rows()}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=[k for k, r in rows.items() if "chainrule" in
                                             r.systems and r.case != "w5"] + ["summarize"],
                        help="a workload, or 'summarize' to read py-spy's --format raw output")
    parser.add_argument("collapsed", nargs="?", help="with summarize: py-spy's raw output")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to run steps")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="the suite's --quick sizes")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="just run the steps (for an outside sampler such as py-spy)")
    args = parser.parse_args(argv)

    if args.workload == "summarize":
        return summarize(args.collapsed, args.top)
    row = rows[args.workload]
    params = {**(row.quick if args.quick else row.full), **row.systems["chainrule"]}
    case = workloads_chainrule.make(row.case, params)
    wrong = common.compare(case.check(), common.reference(row.case, params),
                           suite.TOLERANCE[row.case])
    if wrong:
        print(f"chainrule computes {args.workload} wrongly: {wrong}", file=sys.stderr)
        return 1
    case.step()
    profiler = None if args.no_cprofile else cProfile.Profile()
    steps = 0
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    while steps < 1 or time.perf_counter() - start < args.seconds:
        case.step()
        steps += 1
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    print(f"{args.workload} ({row.title(params)}): {steps} steps, "
          f"{elapsed / steps * 1e3:.3f} ms/step{' under cProfile' if profiler else ''}")
    if profiler:
        _report(profiler, args.top)
    return 0


def summarize(path: str, top: int) -> int:
    """Self and inclusive shares per function from py-spy's collapsed stacks, counting only
    samples taken inside a timed step."""
    self_n, incl_n, total = {}, {}, 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            starts = [i for i, fr in enumerate(frames) if ".step (workloads_" in fr]
            if not starts:
                continue
            n = int(count)
            total += n
            frames = [fr.rsplit(":", 1)[0] + ")" if ":" in fr else fr
                      for fr in frames[starts[0] + 1:]] or ["(the step itself)"]
            leaf = frames[-1]
            self_n[leaf] = self_n.get(leaf, 0) + n
            for fr in set(frames):
                incl_n[fr] = incl_n.get(fr, 0) + n
    if not total:
        print("no samples inside a step", file=sys.stderr)
        return 1
    print(f"{total} samples inside steps")
    print(f"{'self %':>7} {'incl %':>7}  function (file)")
    for fr, n in sorted(self_n.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{n / total:7.1%} {incl_n[fr] / total:7.1%}  {fr}")
    return 0


def _report(profiler, top: int) -> None:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = sum(v[2] for v in stats.stats.values())  # self time summed = the whole run
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    print(f"{'self %':>7} {'cum %':>7} {'calls':>10}  function")
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in rows:
        where = f"{os.path.relpath(path, HERE.parent) if path.startswith('/') else path}:{line}"
        print(f"{tottime / total:7.1%} {cumtime / total:7.1%} {ncalls:10d}  {name}  ({where})")


if __name__ == "__main__":
    sys.exit(main())
