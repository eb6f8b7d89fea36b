"""The from-scratch example runs and learns (the other examples are exercised by the
quality tests' recipes and by benchmarks/accuracy.py)."""

import pathlib
import runpy

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_mlp_from_scratch(capsys):
    runpy.run_path(str(EXAMPLES / "mlp_from_scratch.py"), run_name="__main__")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("step 500")
    assert float(last.split("accuracy")[1]) >= 0.95
