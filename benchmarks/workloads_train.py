"""W5: ``chainrule train --dataset digits`` with its defaults, and the same training in PyTorch.

The defaults of ``chainrule train`` (chainrule/train_cli.py): an MLP 64-64-10 with ReLU,
Adam (lr 1e-3), 30 epochs of batch 32 shuffled with seed 0, cross-entropy, a stratified
80/20 split with seed 0, features standardised with the training split's statistics,
validation on the test split after every epoch, one BLAS thread. PyTorch gets the same
split, standardisation, model, optimizer, schedule and thread count, written as a PyTorch
user would (scikit-learn's loader, stratified split and StandardScaler; TensorDataset,
DataLoader, nn, optim.Adam; float32 weights in both).

Two measurements for each:

- cold: the whole command in a fresh process, as a user runs it (``python -m chainrule
  train --dataset digits``, or this file with ``--torch``): wall time from launch to exit
  and the process's peak RSS (from ``wait4``), imports included;
- warm: in this process, after imports, data loading and a one-epoch warm-up run (lazy
  initialisation done), the training run's wall time, and its peak RSS over the RSS before
  it (the kernel's peak counter is reset first), i.e. what training itself allocates.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workloads_common import peak_rss_mib, reset_peak_rss, rss_mib

CONFIG = {"hidden": [64], "epochs": 30, "batch_size": 32, "lr": 1e-3, "seed": 0,
          "test_size": 0.2, "threads": 1}
HERE = Path(__file__).resolve().parent


def _digits_split(config):
    from chainrule.data import train_test_split
    from chainrule.datasets import load_digits

    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=config["test_size"],
                                          seed=config["seed"], stratify=True)
    mean, std = Xtr.mean(0), Xtr.std(0)
    std[std == 0] = 1.0
    return (Xtr - mean) / std, (Xte - mean) / std, ytr, yte


def _sklearn_split(config):
    """What a PyTorch user would write: scikit-learn's loader, split and scaler."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=config["test_size"],
                                          random_state=config["seed"], stratify=y)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def _cold(cmd: list[str]) -> dict:
    """Run ``cmd`` in a fresh process: wall seconds, peak RSS (MiB) and its stdout."""
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, env=os.environ.copy())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {text[-300:]}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "stdout": text}


def _accuracy(text: str) -> float:
    m = re.search(r"test accuracy: ([0-9.]+)", text)
    if m is None:
        raise RuntimeError(f"no test accuracy in the output: {text[-300:]}")
    return float(m.group(1))


def _warm(run_training) -> dict:
    before = rss_mib()
    reset_peak_rss()
    t0 = time.perf_counter()
    text = run_training()
    wall = time.perf_counter() - t0
    peak = peak_rss_mib()
    return {"train_wall_s": wall, "rss_before_mib": before, "train_peak_mib": peak - before,
            "accuracy": _accuracy(text)}


class ChainruleTrain:
    def __init__(self, quick: bool = False, **_):
        self.argv = ["train", "--dataset", "digits"] + (["--epochs", "1"] if quick else [])

    def run(self) -> dict:
        import chainrule  # noqa: F401
        from chainrule.cli import main

        def cli(argv):
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                status = main(argv)
            if status != 0:
                raise RuntimeError(f"chainrule {' '.join(argv)} exited {status}")
            return out.getvalue()

        cold = _cold([sys.executable, "-m", "chainrule"] + self.argv)
        _digits_split(CONFIG)  # scikit-learn's loader imported before the baseline
        cli(["train", "--dataset", "digits", "--epochs", "1", "--hidden", "8"])  # warm-up
        warm = _warm(lambda: cli(self.argv))
        first = cold["stdout"].splitlines()[0] if cold["stdout"] else ""
        _same_training(first, self.argv)
        return {"wall_s": cold["wall_s"], "peak_rss_mib": cold["peak_rss_mib"],
                "cold_accuracy": _accuracy(cold["stdout"]), **warm,
                "config": f"chainrule {' '.join(self.argv)}`: `{first}"}


def _same_training(line: str, argv: list[str]) -> None:
    """PyTorch must train what ``chainrule train`` trains: check the CLI's own summary line
    against CONFIG, so a changed default cannot make W5 compare different trainings."""
    m = re.search(r"mlp with (\d+) parameters, adam lr=([0-9.e-]+), (\d+) epochs of batch (\d+)",
                  line)
    widths = [64] + CONFIG["hidden"] + [10]
    n_params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else CONFIG["epochs"]
    if m is None or (int(m.group(1)), float(m.group(2)), int(m.group(3)), int(m.group(4))) != (
            n_params, CONFIG["lr"], epochs, CONFIG["batch_size"]):
        raise RuntimeError(f"chainrule train's defaults ({line!r}) differ from W5's PyTorch "
                           "program: update CONFIG in benchmarks/workloads_train.py")


def torch_train(config: dict, data=None) -> str:
    """The PyTorch program; prints its test accuracy as ``chainrule train`` does."""
    import torch

    c = config
    Xtr, Xte, ytr, yte = data if data is not None else _sklearn_split(c)
    torch.set_num_threads(c["threads"])
    torch.manual_seed(c["seed"])
    Xtr_t = torch.tensor(Xtr, dtype=torch.float32)
    Xte_t = torch.tensor(Xte, dtype=torch.float32)
    ytr_t, yte_t = torch.tensor(ytr), torch.tensor(yte)
    layers, width = [], Xtr.shape[1]
    for h in c["hidden"]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, int(ytr.max()) + 1))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(Xtr_t, ytr_t), batch_size=c["batch_size"],
        shuffle=True, generator=torch.Generator().manual_seed(c["seed"]))
    for _ in range(c["epochs"]):
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():  # validation after each epoch, as chainrule's fit does
            val = model(Xte_t)
            loss_fn(val, yte_t).item()
            (val.argmax(1) == yte_t).float().mean().item()
    with torch.no_grad():
        acc = float((model(Xte_t).argmax(1) == yte_t).float().mean())
    return f"test accuracy: {acc:.4f}\n"


class TorchTrain:
    def __init__(self, quick: bool = False, **_):
        self.config = {**CONFIG, "epochs": 1} if quick else CONFIG

    def run(self) -> dict:
        import torch  # noqa: F401

        epochs = ["--epochs", str(self.config["epochs"])]
        cold = _cold([sys.executable, str(Path(__file__).resolve()), "--torch"] + epochs)
        data = _digits_split(self.config)
        torch_train({**self.config, "epochs": 1, "hidden": [8]}, data)  # warm-up
        warm = _warm(lambda: torch_train(self.config, data))
        return {"wall_s": cold["wall_s"], "peak_rss_mib": cold["peak_rss_mib"],
                "cold_accuracy": _accuracy(cold["stdout"]), **warm, "config": ""}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(description="W5's PyTorch program, run alone")
    parser.add_argument("--torch", action="store_true", required=True)
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    args = parser.parse_args()
    print(torch_train({**CONFIG, "epochs": args.epochs}), end="")
