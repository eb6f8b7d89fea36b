"""Quality bars: chainrule trains real models to scikit-learn's accuracy.

The MLP bars are what scikit-learn's ``MLPClassifier((64,))`` reaches on stratified 80/20
splits made by scikit-learn's ``train_test_split(random_state=seed, stratify=y)``, mean over
seeds 0, 1, 2 (digits 0.972, iris 0.978, breast cancer 0.974); the same splits are used here.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import datasets, nn, optim
from chainrule.data import train_test_split
from chainrule.train import fit, predict
from chainrule.train_cli import build_model

pytest.importorskip("sklearn")
from sklearn.model_selection import train_test_split as sk_split  # noqa: E402

SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices: one BLAS thread is fastest, and immune to a busy machine (OpenBLAS
    # threads that wait for a core can make these runs many times slower).
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield


def _standardize(train, test):
    mu, sd = train.mean(0), train.std(0)
    sd[sd == 0] = 1.0
    return (train - mu) / sd, (test - mu) / sd


def _mlp_accuracy(name, seed, epochs, batch_size):
    X, y = getattr(datasets, f"load_{name}")()
    Xtr, Xte, ytr, yte = sk_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    Xtr, Xte = _standardize(Xtr, Xte)
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, int(y.max()) + 1))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        (Xtr, ytr),
        epochs,
        batch_size=batch_size,
        seed=seed,
        progress=False,
        metrics=None,
    )
    return float(np.mean(np.argmax(predict(model, Xte), axis=1) == yte))


@pytest.mark.parametrize(
    "name,bar,epochs,batch_size",
    [
        ("digits", 0.972, 50, 32),
        ("iris", 0.978, 60, 8),
        ("breast_cancer", 0.974, 30, 16),
    ],
)
def test_mlp_matches_sklearn(name, bar, epochs, batch_size):
    accs = [_mlp_accuracy(name, s, epochs, batch_size) for s in SEEDS]
    assert np.mean(accs) >= bar, f"{name}: accuracies {accs}, mean {np.mean(accs):.4f} < {bar}"


def test_moons():
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
    assert min(accs) >= 0.96, accs


def test_digits_cnn():
    X, y = datasets.load_digits()
    accs = []
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        Xtr, Xte = (Xtr / 16.0).reshape(-1, 1, 8, 8), (Xte / 16.0).reshape(-1, 1, 8, 8)
        cr.manual_seed(seed)
        model = build_model({"model": "cnn", "out_features": 10})  # the CLI's digits CNN
        opt = optim.Adam(model.parameters(), lr=3e-3)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
        fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            (Xtr, ytr),
            20,
            scheduler=sched,
            seed=seed,
            progress=False,
            metrics=None,
        )
        accs.append(float(np.mean(np.argmax(predict(model, Xte), 1) == yte)))
    assert np.mean(accs) >= 0.98, accs


def test_diabetes_beats_linear_regression():
    X, y = datasets.load_diabetes()
    ours, ols = [], []
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed)
        # the baseline: ordinary least squares with an intercept, by np.linalg.lstsq
        A = np.column_stack([Xtr, np.ones(len(Xtr))])
        coef = np.linalg.lstsq(A, ytr, rcond=None)[0]
        base = np.column_stack([Xte, np.ones(len(Xte))]) @ coef

        def r2(pred, yte=yte):
            return 1 - np.sum((yte - pred) ** 2) / np.sum((yte - yte.mean()) ** 2)

        Xs, Xts = _standardize(Xtr, Xte)
        ym, ys = ytr.mean(), ytr.std()
        cr.manual_seed(seed)
        model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
        opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.5)
        fit(
            model,
            nn.MSELoss(),
            opt,
            (Xs, ((ytr - ym) / ys)[:, None]),
            100,
            seed=seed,
            progress=False,
            metrics=None,
        )
        ours.append(r2(predict(model, Xts)[:, 0] * ys + ym))
        ols.append(r2(base))
    assert np.mean(ours) >= np.mean(ols), (ours, ols)
