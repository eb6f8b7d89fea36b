"""Accuracy of models trained by chainrule, next to scikit-learn on the same splits.

    python benchmarks/accuracy.py            # the full table (about a minute on 2 cores)

For each classification dataset: a one-hidden-layer MLP of 64 units trained by chainrule
(Adam, lr 1e-3, standardised features) and scikit-learn's ``MLPClassifier((64,))`` (its
defaults), both on the same stratified 80/20 splits, mean over seeds 0, 1, 2 -- once on the
splits of scikit-learn's ``train_test_split(random_state=seed, stratify=y)`` and once on
chainrule's ``train_test_split(seed=seed, stratify=True)``. Then moons (1000 points, noise
0.2), the digits CNN, diabetes R² against least squares, and the wall time of
``chainrule train --dataset digits``. Needs scikit-learn and threadpoolctl.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np

import chainrule as cr
from chainrule import datasets, nn, optim
from chainrule.data import train_test_split
from chainrule.train import fit, predict
from chainrule.train_cli import build_model

SEEDS = (0, 1, 2)
# (epochs, batch size) of the chainrule MLP per dataset
RECIPES = {"digits": (50, 32), "iris": (60, 8), "breast_cancer": (30, 16), "wine": (60, 16)}
ISSUE_FIGURES = {"digits": 0.972, "iris": 0.978, "breast_cancer": 0.974}


def standardize(train, test):
    mu, sd = train.mean(0), train.std(0)
    sd[sd == 0] = 1.0
    return (train - mu) / sd, (test - mu) / sd


def split(X, y, seed, how):
    if how == "sklearn":
        from sklearn.model_selection import train_test_split as sk_split

        return sk_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    return train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)


def chainrule_mlp(Xtr, Xte, ytr, yte, seed, epochs, batch_size):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(Xtr.shape[1], 64), nn.ReLU(), nn.Linear(64, int(ytr.max()) + 1))
    fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=1e-3),
        (Xtr, ytr),
        epochs,
        batch_size=batch_size,
        seed=seed,
        progress=False,
        metrics=None,
    )
    return float(np.mean(np.argmax(predict(model, Xte), 1) == yte))


def sklearn_mlp(Xtr, Xte, ytr, yte, seed):
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at max_iter=200
        return float(MLPClassifier((64,), random_state=seed).fit(Xtr, ytr).score(Xte, yte))


def mlp_rows():
    rows = []
    for name, (epochs, bs) in RECIPES.items():
        X, y = getattr(datasets, f"load_{name}")()
        for how in ("sklearn", "chainrule"):
            ours, theirs = [], []
            for seed in SEEDS:
                Xtr, Xte, ytr, yte = split(X, y, seed, how)
                Xtr, Xte = standardize(Xtr, Xte)
                ours.append(chainrule_mlp(Xtr, Xte, ytr, yte, seed, epochs, bs))
                theirs.append(sklearn_mlp(Xtr, Xte, ytr, yte, seed))
            rows.append(
                (
                    f"{name} MLP(64)",
                    f"{how} splits",
                    np.mean(ours),
                    np.mean(theirs),
                    ISSUE_FIGURES.get(name) if how == "sklearn" else None,
                )
            )
    return rows


def moons_row():
    accs = []
    for seed in SEEDS:
        X, y = datasets.make_moons(1000, noise=0.2, seed=seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        cr.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))
        fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters(), lr=0.01),
            (Xtr, ytr),
            30,
            seed=seed,
            progress=False,
            metrics=None,
        )
        accs.append(float(np.mean(np.argmax(predict(model, Xte), 1) == yte)))
    return ("moons MLP(64)", "chainrule splits", np.mean(accs), None, 0.96)


def cnn_row():
    X, y = datasets.load_digits()
    accs = []
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        Xtr, Xte = (Xtr / 16.0).reshape(-1, 1, 8, 8), (Xte / 16.0).reshape(-1, 1, 8, 8)
        cr.manual_seed(seed)
        model = build_model({"model": "cnn", "out_features": 10})  # the CLI's digits CNN
        opt = optim.Adam(model.parameters(), lr=3e-3)
        fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            (Xtr, ytr),
            20,
            seed=seed,
            progress=False,
            metrics=None,
            scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20),
        )
        accs.append(float(np.mean(np.argmax(predict(model, Xte), 1) == yte)))
    return ("digits CNN", "chainrule splits", np.mean(accs), None, 0.98)


def diabetes_row():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    X, y = datasets.load_diabetes()
    ours, ols = [], []
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed)
        ols.append(r2_score(yte, LinearRegression().fit(Xtr, ytr).predict(Xte)))
        Xs, Xts = standardize(Xtr, Xte)
        ym, ys = ytr.mean(), ytr.std()
        cr.manual_seed(seed)
        model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
        fit(
            model,
            nn.MSELoss(),
            optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.5),
            (Xs, ((ytr - ym) / ys)[:, None]),
            100,
            seed=seed,
            progress=False,
            metrics=None,
        )
        ours.append(r2_score(yte, predict(model, Xts)[:, 0] * ys + ym))
    return ("diabetes R² MLP(32)", "chainrule splits", np.mean(ours), np.mean(ols), None)


def cli_time():
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--dataset", "digits", "--no-progress"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return time.perf_counter() - start, out.strip().splitlines()[-1]


def main() -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        rows = mlp_rows() + [moons_row(), cnn_row(), diabetes_row()]
    print(
        "| model | splits (mean of seeds 0, 1, 2) | chainrule | scikit-learn, same splits | bar |"
    )
    print("|---|---|---|---|---|")
    for name, how, ours, theirs, bar in rows:
        t = "" if theirs is None else f"{theirs:.4f}"
        b = "" if bar is None else f"{bar:.3f}"
        print(f"| {name} | {how} | {ours:.4f} | {t} | {b} |")
    print("\n(diabetes: the scikit-learn column is LinearRegression's R²)")
    seconds, last = cli_time()
    print(f"\n`chainrule train --dataset digits`: {seconds:.1f} s wall ({last})")


if __name__ == "__main__":
    main()
