"""W5: ``chainrule train --dataset digits`` with its defaults, and the same training in PyTorch.

The defaults of ``chainrule train`` (chainrule/train_cli.py): an MLP 64-64-10 with ReLU,
Adam (lr 1e-3), 30 epochs of batch 32 shuffled with seed 0, cross-entropy, a stratified
80/20 split with seed 0, features standardised with the training split's statistics,
validation on the test split after every epoch, one BLAS thread. PyTorch gets the same
split, standardisation, model, optimizer, schedule and thread count (float32 weights as
both libraries' default).

Memory: after imports and the first load of the data set (scikit-learn's, for both), the
kernel's peak-RSS counter is reset; the training peak is the new peak minus the RSS at that
moment. The process peak (everything, libraries included) is reported too.
"""

from __future__ import annotations

import contextlib
import io
import re
import time

from workloads_common import peak_rss_mib, reset_peak_rss, rss_mib

CONFIG = {"hidden": [64], "epochs": 30, "batch_size": 32, "lr": 1e-3, "seed": 0,
          "test_size": 0.2, "threads": 1}
QUICK = {**CONFIG, "epochs": 1}


def _digits_split(config):
    from chainrule.data import train_test_split
    from chainrule.datasets import load_digits

    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=config["test_size"],
                                          seed=config["seed"], stratify=True)
    mean, std = Xtr.mean(0), Xtr.std(0)
    std[std == 0] = 1.0
    return (Xtr - mean) / std, (Xte - mean) / std, ytr, yte


def _cli_defaults() -> dict:
    """The defaults the installed CLI actually has (so a changed default is reported)."""
    from chainrule.cli import build_parser
    args = build_parser().parse_args(["train", "--dataset", "digits"])
    return {k: v for k, v in vars(args).items() if k != "run"}


class ChainruleTrain:
    def __init__(self, quick: bool = False, **_):
        self.quick = quick

    def run(self) -> dict:
        import chainrule  # noqa: F401
        from chainrule.cli import main

        argv = ["train", "--dataset", "digits"] + (["--epochs", "1"] if self.quick else [])
        _digits_split(CONFIG)  # scikit-learn's loader imported and warmed before the baseline
        cli = _cli_defaults()
        before = rss_mib()
        reset_peak_rss()
        out = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = main(argv)
        wall = time.perf_counter() - t0
        peak = peak_rss_mib()
        text = out.getvalue()
        m = re.search(r"test accuracy: ([0-9.]+)", text)
        if status != 0 or m is None:
            raise RuntimeError(f"chainrule train failed (status {status}): {text[-300:]}")
        return {"wall_s": wall, "peak_rss_mib": peak, "rss_before_mib": before,
                "train_peak_mib": peak - before, "accuracy": float(m.group(1)),
                "config": f"chainrule {' '.join(argv)}` (threads={cli.get('threads')}): "
                          f"`{text.splitlines()[0] if text else ''}"}


class TorchTrain:
    """The same training, written as a PyTorch user would (DataLoader, nn, optim.Adam)."""

    def __init__(self, quick: bool = False, **_):
        self.config = QUICK if quick else CONFIG

    def run(self) -> dict:
        import torch
        c = self.config
        Xtr, Xte, ytr, yte = _digits_split(c)
        torch.set_num_threads(c["threads"])
        before = rss_mib()
        reset_peak_rss()
        t0 = time.perf_counter()
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
            correct = 0
            for xb, yb in loader:
                out = model(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                correct += int((out.argmax(1) == yb).sum())
            model.eval()
            with torch.no_grad():
                val = model(Xte_t)
                loss_fn(val, yte_t).item()
                float((val.argmax(1) == yte_t).float().mean())
        with torch.no_grad():
            acc = float((model(Xte_t).argmax(1) == yte_t).float().mean())
        wall = time.perf_counter() - t0
        peak = peak_rss_mib()
        return {"wall_s": wall, "peak_rss_mib": peak, "rss_before_mib": before,
                "train_peak_mib": peak - before, "accuracy": acc,
                "train_accuracy_last_epoch": correct / len(ytr), "config": ""}


