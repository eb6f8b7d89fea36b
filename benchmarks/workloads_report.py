"""Turn the suite's per-round results into RESULTS.md: medians, ratios, targets, context."""

from __future__ import annotations

import os
import platform
import subprocess

import numpy as np

UNIT_SCALE = {"ms": 1e3, "µs": 1e6, "µs/op": 1e6, "s": 1.0}


def _fmt(v: float) -> str:
    if v != v:  # nan
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def round_values(row, runs: list[dict], params: dict) -> list[float]:
    """One number per round: the median of that round's calls, in the row's unit."""
    per = params.get(row.per, 1) if row.per else 1
    return [float(np.median(r["times"])) * UNIT_SCALE[row.unit] / per
            for r in runs if r.get("times")]


def status(runs: list[dict]) -> str | None:
    for key, word in (("wrong", "WRONG"), ("failed", "fails"), ("error", "error")):
        for r in runs:
            if key in r:
                return word
    return None


def median_of(row, runs, params):
    vals = round_values(row, runs, params)
    return float(np.median(vals)) if vals else float("nan")


def best_of(row, runs, params):
    vals = round_values(row, runs, params)
    return float(min(vals)) if vals else float("nan")


def render(table_rows, systems, results, meta, system_names) -> str:
    quick = meta["quick"]
    cols = [s for s in system_names if s in systems or s in meta["missing"]]
    label = {s: system_names[s][0] for s in system_names}
    lines = []
    add = lines.append
    when = meta["started"].strftime("%Y-%m-%d %H:%M UTC")
    add("# chainrule benchmark results" + (" (--quick: tiny sizes, not for citing)" if quick
                                            else ""))
    add("")
    add(f"Run {when} on {_cpu_model()}, {os.cpu_count()} cores, with `{meta['command']}` "
        f"({meta['rounds']} alternating rounds; each (workload, system) in a fresh process; "
        f"{(meta['finished'] - meta['started']).total_seconds() / 60:.1f} min in all; "
        + (f"{meta['threads']} thread(s) per library" if meta.get("threads")
           else "each library's default threads") + ").")
    add("Each number is the median over rounds of the per-round median time of one call; a "
        "call is one full forward + backward (+ update for W1). Lower is better.")
    if meta.get("note"):
        add("")
        add(meta["note"])
    add("")

    # ----- medians -----
    add("## Medians")
    add("")
    add("| workload | unit | " + " | ".join(label[c] for c in cols) + " |")
    add("|---|---|" + "---:|" * len(cols))
    for row in table_rows:
        params = row.quick if quick else row.full
        cells = []
        for c in cols:
            cells.append(_cell(row, c, systems, results, params))
        add(f"| {row.title(params)} | {row.unit} | " + " | ".join(cells) + " |")
    add("")
    add("`–`: the workload is not written for that system (see benchmarks/README.md); "
        "`n/i`: not installed; `fails`/`error`/`WRONG`: see the notes below.")
    add("")

    # ----- ratios and targets -----
    add("## Ratios (chainrule time / peer time; below 1 means chainrule is faster) and targets")
    add("")
    peers = [c for c in cols if c != "chainrule"]
    add("| workload | " + " | ".join(f"vs {label[p]}" for p in peers) + " | target | met |")
    add("|---|" + "---:|" * len(peers) + "---|---|")
    for row in table_rows:
        params = row.quick if quick else row.full
        res = results.get(row.key, {})
        mine = median_of(row, res.get("chainrule", []), params)
        cells = []
        for p in peers:
            theirs = median_of(row, res.get(p, []), params) if p in res else float("nan")
            cells.append(f"{mine / theirs:.2f}×" if mine == mine and theirs == theirs
                         else "–")
        tgt, met = _target(row, res, params, label)
        add(f"| {row.title(params)} | " + " | ".join(cells) + f" | {tgt} | {met} |")
    add("")

    _best_section(add, table_rows, systems, results, quick, cols, label)
    _floor_section(add, table_rows, results, quick)
    _w4_section(add, table_rows, results, quick)
    _compiled_section(add, table_rows, results, quick, label)
    _w5_section(add, table_rows, results, quick)
    _correctness_section(add, table_rows, results)
    _spread_section(add, table_rows, results, quick, label)
    _environment_section(add, results, meta, label)
    return "\n".join(lines) + "\n"


def _best_section(add, table_rows, systems, results, quick, cols, label):
    if not any(len(runs) > 1 for per in results.values() for runs in per.values()):
        return
    peers = [c for c in cols if c != "chainrule"]
    add("## Best round (the least disturbed one) and its ratios")
    add("")
    add("The fastest per-round median of each case: on a machine shared with other work "
        "(see the per-round table), closer to what each system does undisturbed than the "
        "median. For reference only; the targets above are judged on the medians.")
    add("")
    add("| workload | unit | " + " | ".join(label[c] for c in cols) + " | "
        + " | ".join(f"chainrule / {label[p]}" for p in peers) + " |")
    add("|---|---|" + "---:|" * (len(cols) + len(peers)))
    for row in table_rows:
        params = row.quick if quick else row.full
        res = results.get(row.key, {})
        cells = [_cell(row, c, systems, results, params, best_of) for c in cols]
        mine = best_of(row, res.get("chainrule", []), params) if not status(
            res.get("chainrule", [])) else float("nan")
        for p in peers:
            theirs = (best_of(row, res[p], params) if p in res and not status(res[p])
                      else float("nan"))
            cells.append(f"{mine / theirs:.2f}×" if mine == mine and theirs == theirs
                         else "–")
        add(f"| {row.title(params)} | {row.unit} | " + " | ".join(cells) + " |")
    add("")


def _cell(row, system, systems, results, params, how=median_of) -> str:
    if system not in row.systems:
        return "–"
    if system not in systems:
        return "n/i"
    runs = results[row.key].get(system, [])
    bad = status(runs)
    if bad:
        return bad
    v = how(row, runs, params)
    return _fmt(v)


def _target(row, res, params, label) -> tuple[str, str]:
    if not row.target:
        return "", ""
    kind, peer, bound = row.target
    mine_runs = res.get("chainrule", [])
    if kind == "ratio":
        text = f"≤ {bound}× {label[peer]}"
        if peer not in res or not res[peer] or status(res[peer]) or status(mine_runs):
            return text, "n/a"
        r = median_of(row, mine_runs, params) / median_of(row, res[peer], params)
        return text, ("yes" if r <= bound else "**no**") + f" ({r:.2f}×)"
    if kind == "abs":
        text = f"≤ {bound} {row.unit}"
        if status(mine_runs) or not mine_runs:
            return text, "n/a"
        v = median_of(row, mine_runs, params)
        return text, ("yes" if v <= bound else "**no**") + f" ({_fmt(v)})"
    if kind == "runs":
        ok = bool(mine_runs) and not status(mine_runs)
        return "runs", "yes" if ok else "**no**"
    if kind == "memory":
        text = f"peak memory ≤ {label[peer]}'s"
        mine = _w5_stats(mine_runs)
        theirs = _w5_stats(res.get(peer, []))
        if not mine or not theirs:
            return text, "n/a"
        a, b = mine["peak_rss_mib"], theirs["peak_rss_mib"]
        c, d = mine["train_peak_mib"], theirs["train_peak_mib"]
        # Judged on the whole command's peak, what a user sees; the training loop's own
        # allocation (a few MiB for either library) is shown beside it.
        return text, ("yes" if a <= b else "**no**") + (
            f" (process peak {a:.0f} vs {b:.0f} MiB; training loop alone "
            f"{c:.1f} vs {d:.1f} MiB)")
    return "", ""


def _w5_stats(runs):
    stats = [r["stats"] for r in runs if "stats" in r]
    if not stats:
        return None
    keys = stats[0].keys()
    return {k: float(np.median([s[k] for s in stats])) for k in keys
            if isinstance(stats[0][k], (int, float))}


def _floor_section(add, table_rows, results, quick):
    floors = []
    for row in table_rows:
        if row.case != "w1" or "numpy" not in results.get(row.key, {}):
            continue
        extras = [r["extra"] for r in results[row.key]["numpy"] if "extra" in r]
        if not extras:
            continue
        floor_ms = float(np.median([e["matmul_floor_s"] for e in extras])) * 1e3
        gflop = extras[0]["gflop"]
        params = row.quick if quick else row.full
        mine = median_of(row, results[row.key].get("chainrule", []), params)
        floors.append((row.title(params), gflop, floor_ms, gflop / floor_ms * 1e3, mine))
    if not floors:
        return
    add("## W1: the matrix-multiply floor")
    add("")
    add("The products a step cannot avoid (3 forward, 3 weight gradients, 2 input gradients), "
        "timed alone in the NumPy worker with the same shapes and BLAS:")
    add("")
    add("| workload | GFLOP per step | matmul floor (ms) | GFLOP/s | chainrule (ms) | "
        "fraction of the floor reached |")
    add("|---|---:|---:|---:|---:|---:|")
    for label, gflop, floor_ms, rate, mine in floors:
        frac = f"{floor_ms / mine:.0%}" if mine == mine else "–"
        add(f"| {label} | {gflop:.3f} | {floor_ms:.2f} | {rate:.0f} | {_fmt(mine)} | {frac} |")
    add("")


def _w4_section(add, table_rows, results, quick):
    notes = []
    for row in table_rows:
        if row.case != "w4":
            continue
        params = row.quick if quick else row.full
        for system, runs in results.get(row.key, {}).items():
            for r in runs:
                if "failed" in r:
                    notes.append(f"- {row.key}, {system}: {r['failed']}")
                    break
        if row.once:
            for r in results.get(row.key, {}).get("chainrule", []):
                if r.get("times"):
                    peak = r.get("peak_rss_mib", float("nan"))
                    notes.append(f"- {row.title(params)}: ran in {r['times'][0]:.2f} s, "
                                 f"peak RSS of its process {peak:.0f} MiB; "
                                 f"output and gradient checked against the closed form.")
    if notes:
        add("## W4 notes")
        add("")
        lines = notes
        for n in lines:
            add(n)
        add("")


# cr.compile's targets: (workload key, peer, bound), all on medians.
COMPILED_TARGETS = [
    ("w2", "numpy", 1.15), ("w3", "micrograd", 0.1), ("w3v", "jax", 1.2),
    ("w1_b32", "torch", 0.75), ("w1_b32", "jax", 1.35), ("w1_b256", "jax", 1.05),
    ("w4", "torch", 0.05),
]


def _compiled_section(add, table_rows, results, quick, label):
    """chainrule compiled against its targets, with the first call's (compile) time."""
    by_key = {r.key: r for r in table_rows}
    if not any("compiled" in results.get(k, {}) for k in by_key):
        return
    add("## chainrule compiled (`cr.compile`) against its targets")
    add("")
    add("Steady state: the median replay of the compiled step. Compile: the first call "
        "(trace, which runs the step eagerly, + code generation + Python's `compile`).")
    add("")
    add("| workload | compiled | eager chainrule | target | measured | met "
        "| compile (first call) |")
    add("|---|---:|---:|---|---:|---|---:|")
    for key, peer, bound in COMPILED_TARGETS:
        row = by_key.get(key)
        if row is None or "compiled" not in results.get(key, {}):
            continue
        params = row.quick if quick else row.full
        res = results[key]
        mine = median_of(row, res["compiled"], params)
        base = median_of(row, res.get("chainrule", []), params)
        theirs = median_of(row, res.get(peer, []), params) if peer in res else float("nan")
        ratio = mine / theirs if theirs == theirs else float("nan")
        measured = f"{ratio:.3g}× {label[peer]}" if ratio == ratio else "n/a"
        met = "n/a" if ratio != ratio else ("yes" if ratio <= bound else "**no**")
        firsts = [r["extra"]["compile_s"] for r in res["compiled"]
                  if r.get("extra", {}).get("compile_s") is not None]
        first = f"{np.median(firsts):.3g} s" if firsts else "n/a"
        add(f"| {row.title(params)} | {mine:.4g} {row.unit} | {base:.4g} {row.unit} | "
            f"≤ {bound}× {label[peer]} | {measured} | {met} | {first} |")
    row = by_key.get("w4")
    if row is not None and "compiled" in results.get("w4", {}):
        params = row.quick if quick else row.full
        firsts = [r["extra"]["compile_s"] for r in results["w4"]["compiled"]
                  if r.get("extra", {}).get("compile_s") is not None]
        base = median_of(row, results["w4"].get("chainrule", []), params)
        if firsts and base == base:
            first_ms = float(np.median(firsts)) * 1e3
            ok = "yes" if first_ms <= 3 * base else "**no**"
            add(f"| {row.title(params)}, first call | {first_ms:.4g} ms | {base:.4g} ms | "
                f"≤ 3× eager chainrule | {first_ms / base:.2f}× | {ok} | |")
    add("")


def _w5_section(add, table_rows, results, quick):
    row = next((r for r in table_rows if r.case == "w5"), None)
    if row is None or not results.get(row.key):
        return
    add("## W5: training on digits, time and memory")
    add("")
    first = next((r["stats"] for runs in results[row.key].values() for r in runs
                  if "stats" in r), None)
    if first and first.get("config"):
        add(f"Configuration (the CLI's defaults): `{first['config']}`.")
        add("")
    add("| system | command wall (s) | command peak RSS (MiB) | training loop wall, warm (s) | "
        "RSS before the loop (MiB) | loop's peak over that (MiB) | test accuracy |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for system, runs in results[row.key].items():
        s = _w5_stats(runs)
        if not s:
            add(f"| {system} | {status(runs) or 'no result'} | | | | | |")
            continue
        add(f"| {system} | {s['wall_s']:.2f} | {s['peak_rss_mib']:.0f} | "
            f"{s['train_wall_s']:.2f} | {s['rss_before_mib']:.0f} | "
            f"{s['train_peak_mib']:.1f} | {s.get('accuracy', float('nan')):.3f} |")
    add("")
    add("Command: the whole program in a fresh process as a user runs it (`python -m "
        "chainrule train --dataset digits`; for PyTorch `python benchmarks/workloads_train.py "
        "--torch`, which loads, splits and scales the data with scikit-learn), imports "
        "included; its peak RSS from `wait4`. Training loop: in the worker, after imports, "
        "data loading and a one-epoch warm-up run, the same training again; its peak is the "
        "kernel's high-water mark (VmHWM, reset just before) minus the RSS at that moment, "
        "i.e. what training allocates. The W5 row of the tables above is the command wall "
        "time.")
    add("")


def _correctness_section(add, table_rows, results):
    add("## Correctness guard")
    add("")
    add("Every case, in every round, first computes its loss (or output) and gradients from "
        "the same seeded NumPy data and weights and compares them with a float64 hand-written "
        "NumPy reference (gradients as norms and random projections; relative tolerance 2e-4 "
        "for the float32 W1, 1e-9 for float64 W2/W3, 1e-7 for W4). A case that disagrees is "
        "reported WRONG and not timed. W5 is checked by its final accuracy.")
    add("")
    problems = []
    for row in table_rows:
        for system, runs in results.get(row.key, {}).items():
            for r in runs:
                if "wrong" in r:
                    problems.append(f"- {row.key}, {system}: WRONG: {r['wrong']}")
                    break
                if "error" in r:
                    problems.append(f"- {row.key}, {system}: error: {r['error']}")
                    break
    if problems:
        for p in problems:
            add(p)
    else:
        add("All cases agreed with the reference in every round.")
    add("")


def _spread_section(add, table_rows, results, quick, label):
    add("## Per-round medians")
    add("")
    add("Each round's median; in brackets, the share of the machine's CPU time that other "
        "processes took while it was timed (0% = undisturbed; 50% = one of the 2 cores busy "
        "with other work), or, for runs that did not record it, the 1-minute load average "
        "when its worker started (prefixed L).")
    add("")
    add("| workload | system | unit | rounds: median of each (other work's CPU share) | "
        "min – max |")
    add("|---|---|---|---|---|")
    for row in table_rows:
        params = row.quick if quick else row.full
        for system, runs in results.get(row.key, {}).items():
            vals = round_values(row, runs, params)
            if not vals:
                continue
            marks = [_disturbance(r) for r in runs if r.get("times")]
            add(f"| {row.key} | {label[system]} | {row.unit} | "
                + ", ".join(_fmt(v) + (f" ({m})" if m else "") for v, m in zip(vals, marks))
                + f" | {_fmt(min(vals))} – {_fmt(max(vals))} |")
    add("")


def _disturbance(run: dict) -> str:
    if run.get("foreign_cpu") is not None:
        return f"{run['foreign_cpu']:.0%}"
    if run.get("load1") is not None:
        return f"L{run['load1']:.1f}"
    return ""


def _environment_section(add, results, meta, label):
    add("## Machine, versions, BLAS")
    add("")
    add(f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; memory {_mem_total()}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}")
    lb, la = meta["load_before"], meta["load_after"]
    add(f"- Load average (1/5/15 min) before: {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}; "
        f"after: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    loads = [r["load1"] for per in results.values() for runs in per.values() for r in runs
             if "load1" in r]
    if loads:
        add(f"- 1-minute load average as each worker started: median {np.median(loads):.2f}, "
            f"max {max(loads):.2f} (the machine has 2 cores; other work on it slows every "
            "system, PyTorch's spinning OpenMP threads most)")
    shares = [r["foreign_cpu"] for per in results.values() for runs in per.values()
              for r in runs if r.get("foreign_cpu") is not None]
    if shares:
        add(f"- Share of the machine's CPU taken by other processes while cases were timed: "
            f"median {np.median(shares):.0%}, max {max(shares):.0%}; "
            f"{sum(s < 0.1 for s in shares)} of {len(shares)} timings under 10%")
    add(f"- chainrule commit: {meta.get('commit') or git_rev()}")
    pe = {k: v for k, v in meta["parent_env"].items() if v is not None}
    if meta["keep_openblas_env"]:
        add(f"- OpenBLAS environment kept in the workers: {pe}")
    else:
        add(f"- OpenBLAS environment of the shell: {pe or 'none'}; OPENBLAS_CORETYPE and "
            "OPENBLAS_L2_SIZE unset in every worker, so OpenBLAS picks its kernel itself")
    if meta.get("threads"):
        add(f"- Threads: {meta['threads']} for every library (OMP_NUM_THREADS, "
            "OPENBLAS_NUM_THREADS, MKL_NUM_THREADS; XLA single-threaded when 1)")
    else:
        add("- Threads: each library's default (on this machine: 2 for OpenBLAS, PyTorch and "
            "XLA), except W5, which uses 1 as `chainrule train` does by default")
    if meta["missing"]:
        add(f"- Not installed, skipped: {', '.join(meta['missing'])}")
    seen = {}
    for per in results.values():
        for system, runs in per.items():
            for r in runs:
                if "info" in r and system not in seen:
                    seen[system] = r["info"]
    for system, info in seen.items():
        vers = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()
                         if k != "python")
        blas = "; ".join(
            f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture') or '-'}, "
            f"{b.get('num_threads')} threads)" for b in info.get("blas", []))
        extra = ""
        if "torch_threads" in info:
            extra = f"; torch intra-op threads {info['torch_threads']}, " \
                    f"matmul via {info.get('torch_blas')}"
        if "jax_devices" in info:
            extra = f"; devices {info['jax_devices']}"
        add(f"- {label[system]}: {vers}; threadpools: {blas or 'none reported'}{extra}; "
            f"import {info.get('import_s', float('nan')):.2f} s")
    add("")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _mem_total() -> str:
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def git_rev() -> str:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=here, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../chainrule"],
                               capture_output=True, text=True, cwd=here,
                               timeout=10).stdout.strip()
        return rev + (" (with uncommitted changes under chainrule/)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
