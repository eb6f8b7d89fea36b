"""The benchmark suite still runs: one --quick round for chainrule and hand-written NumPy.

No timing is asserted (timings belong in benchmarks/RESULTS.md, not in tests); only that
every case computes what the float64 reference computes and that the table is written.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "benchmarks" / "suite.py"
# The scripts run the checkout under test, not whatever chainrule is installed (if any).
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def test_suite_quick_writes_the_results_table(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(SUITE), "--quick", "--rounds", "1", "--systems", "chainrule,numpy",
         "--workloads", "w1_b32,w1_b32_raw,w2,w3,w3v,w4", "--output", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=ENV,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    assert "| workload | unit | chainrule | hand-written NumPy |" in text
    assert "## Ratios" in text and "## Machine, versions, BLAS" in text
    assert "| WRONG" not in text and "| error" not in text, text
    medians = text.split("## Medians")[1].split("## Ratios")[0]
    w2 = next(line for line in medians.splitlines() if line.startswith("| W2 "))
    cells = [c.strip() for c in w2.strip("|").split("|")]
    assert cells[1] == "µs/op"
    float(cells[2].replace(",", ""))  # chainrule's number
    float(cells[3].replace(",", ""))  # NumPy's number
    assert "All cases agreed with the reference" in text


def test_distributed_benchmark_quick_prints_its_tables():
    pytest.importorskip("mpi4py", reason="pip install -e '.[distributed]'")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "distributed.py"), "--quick"],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=ENV,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| w1 | 2 | 128 |")]
    assert len(rows) == 1  # 2 ranks, W1 MLP, 128 samples each
    assert "| w1 (strong) | 64 | 4 |" in proc.stdout and "| w1 (weak) | 64 | 256 |" in proc.stdout
