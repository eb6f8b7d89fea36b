"""``chainrule train``: train a network on a bundled dataset from the command line.

    chainrule train                                   # digits, MLP (64,), Adam, 30 epochs
    chainrule train --dataset digits --model cnn --epochs 20 --save cnn.ckpt --plot cnn.png
    chainrule train --dataset diabetes --hidden 32 --optimizer adamw

Features are standardised with the training split's mean and standard deviation (digit
images for the CNN are scaled to [0, 1]); the split is stratified 80/20 for classification.
The test metric is printed at the end (accuracy, or R² for regression), and ``--save`` writes
a checkpoint (``cr.save``: model and optimizer state, the configuration and the
standardisation) that :func:`load_checkpoint` turns back into a model.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from typing import Any

import numpy as np

__all__ = ["add_parser", "run", "build_model", "load_checkpoint"]

CLASSIFICATION = ("digits", "iris", "breast_cancer", "wine", "moons", "circles", "spirals")
REGRESSION = ("diabetes",)
SYNTHETIC = ("moons", "circles", "spirals")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` sub-command to an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "train",
        help="train a neural network on a bundled dataset, with a progress bar",
        description="Train an MLP (or a small CNN on digits) with chainrule and report the test "
        "metric. Features are standardised; the split is a stratified 80/20.",
    )
    p.add_argument(
        "--dataset",
        default="digits",
        choices=CLASSIFICATION + REGRESSION,
        help="dataset (default digits); moons/circles/spirals are generated",
    )
    p.add_argument(
        "--model",
        default="mlp",
        choices=("mlp", "cnn"),
        help="mlp, or cnn (digits only: two conv layers with max pooling)",
    )
    p.add_argument(
        "--hidden",
        default=None,
        metavar="SIZES",
        help="hidden layer sizes of the MLP, comma-separated (default 64; 32 for regression)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="passes over the training data (default 30 for an MLP, 20 for the CNN, "
        "100 for diabetes and spirals)",
    )
    p.add_argument(
        "--optimizer",
        default=None,
        choices=OPTIMIZERS,
        help="default adam (adamw with weight decay 0.5 for regression)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1e-3 for adam/adamw/rmsprop, 0.05 for sgd "
        "with momentum 0.9, 1e-2 for adagrad; with adam/adamw/rmsprop, 3e-3 for the CNN "
        "and 1e-2 for moons, circles and spirals)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="seed for the split, weights and order")
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--save", metavar="PATH", help="write a checkpoint (model + optimizer) here")
    p.add_argument("--plot", metavar="PATH", help="write the loss/metric curves (PNG) here")
    p.add_argument(
        "--grad-flow",
        metavar="FILE",
        help="record each layer's gradient norm per epoch and plot it to FILE (.png/.svg/.pdf)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (default 1: fastest for small networks; needs "
        "threadpoolctl, installed with scikit-learn; 0 leaves NumPy's default)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="run each training step as generated code (cr.compile): same updates, faster",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on the processes of an MPI job (start it with: mpiexec "
        "-n 4 python -m mpi4py -m chainrule train --distributed); --batch-size is split "
        "among them",
    )
    p.add_argument(
        "--ranks",
        type=int,
        metavar="N",
        help="train on N processes of this machine: runs mpiexec -n N ... --distributed "
        'for you (needs the distributed extra: pip install -e ".[distributed]")',
    )
    return p


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise ValueError(
            f"--hidden expects sizes like 64,64 (positive integers), got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise ValueError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _check_output(option: str, path: str | None) -> None:
    """Refuse an output path that cannot be written before training, not after."""
    if not path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{option} {path!r} is a directory; give a file name inside it")
    if not os.path.isdir(directory):
        raise ValueError(f"{option} {path!r}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise ValueError(f"{option} {path!r}: the directory {directory!r} is not writable")


def _load(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from chainrule import datasets

    if name == "moons":
        return datasets.make_moons(1000, noise=0.2, seed=seed)
    if name == "circles":
        return datasets.make_circles(1000, noise=0.1, seed=seed, factor=0.5)
    if name == "spirals":
        return datasets.make_spirals(900, noise=0.05, seed=seed)
    return getattr(datasets, f"load_{name}")()


def build_model(config: dict[str, Any]):
    """The network a configuration describes (``model``, ``in_features``, ``out_features``,
    ``hidden``), with freshly initialised weights."""
    from chainrule import nn

    if config["model"] == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, config["out_features"]),
        )
    act = nn.Tanh if config["task"] == "regression" else nn.ReLU
    layers, width = [], config["in_features"]
    for h in config["hidden"]:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, config["out_features"]))
    return nn.Sequential(*layers)


def _optimizer(name: str, params, lr: float, regression: bool):
    from chainrule import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=0.5 if regression else 1e-2)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.Adagrad(params, lr=lr)


def _blas_threads(n: int):
    if n <= 0:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def load_checkpoint(path: str):
    """Rebuild the model saved by ``chainrule train --save PATH``.

    Returns ``(model, checkpoint)``; ``checkpoint["config"]`` holds the settings and
    ``checkpoint["mean"]``/``["std"]`` the feature standardisation to apply to new inputs.
    """
    import chainrule as cr

    ckpt = cr.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "chainrule-train":
        raise ValueError(f"{path!r} is not a checkpoint written by 'chainrule train --save'")
    model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def run(args) -> int:
    """Run ``chainrule train`` with parsed arguments; returns the exit status."""
    if getattr(args, "ranks", None) is not None:
        from chainrule.distributed.launch import relaunch_train

        return relaunch_train(args)  # replaces this process with mpiexec
    if getattr(args, "distributed", False):
        from chainrule.distributed import init

        if init()[0] != 0:  # only rank 0 prints
            with contextlib.redirect_stdout(io.StringIO()):
                return _run(args)
    return _run(args)


def _run(args) -> int:
    import chainrule as cr
    from chainrule import nn
    from chainrule.data import train_test_split
    from chainrule.train import fit, predict

    regression = args.dataset in REGRESSION
    _check_args(args)
    hidden = _hidden(args.hidden or ("32" if regression else "64"))
    opt_name = args.optimizer or ("adamw" if regression else "adam")
    epochs, lr = _epochs_and_lr(args, opt_name, regression)

    X, y = _load(args.dataset, args.seed)
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=args.test_size, seed=args.seed, stratify=not regression
    )
    Xtr, Xte, mean, std = _standardised(Xtr, Xte, args.model == "cnn")
    if regression:
        y_mean, y_std = float(ytr.mean()), float(ytr.std())
        ytr_fit, yte_fit = ((ytr - y_mean) / y_std)[:, None], ((yte - y_mean) / y_std)[:, None]
        out_features, loss_fn, metrics = 1, nn.MSELoss(), ("r2",)
    else:
        y_mean, y_std = 0.0, 1.0
        ytr_fit, yte_fit = ytr, yte
        out_features, loss_fn, metrics = int(y.max()) + 1, nn.CrossEntropyLoss(), ("accuracy",)

    config = {
        "dataset": args.dataset,
        "model": args.model,
        "hidden": hidden,
        "in_features": int(X.shape[1]),
        "out_features": out_features,
        "task": "regression" if regression else "classification",
        "optimizer": opt_name,
        "lr": lr,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    cr.manual_seed(args.seed)
    model = build_model(config)
    optimizer = _optimizer(opt_name, model.parameters(), lr, regression)
    n_params = sum(p.size for p in model.parameters())
    print(
        f"{args.dataset}: {len(Xtr)} training and {len(Xte)} test samples, "
        f"{X.shape[1]} features; {args.model} with {n_params} parameters, "
        f"{opt_name} lr={lr:g}, {epochs} epochs of batch {args.batch_size}"
    )
    batch_size = args.batch_size
    if getattr(args, "distributed", False):  # a share of each batch on every process
        from chainrule.distributed.launch import distributed_train_setup

        model, batch_size = distributed_train_setup(model, args.batch_size)

    start = time.perf_counter()
    try:
        with _blas_threads(args.threads):
            history = fit(
                model,
                loss_fn,
                optimizer,
                (Xtr, ytr_fit),
                epochs,
                val_data=(Xte, yte_fit),
                metrics=metrics,
                batch_size=batch_size,
                seed=args.seed,
                progress=not args.no_progress,
                track_gradients=bool(args.grad_flow),
                compile=args.compile,
            )
            pred = predict(model, Xte)
    except FloatingPointError as err:
        # The loss diverged (most often a learning rate too large): one line with fit's
        # advice, as for other bad input, from the process that prints.
        if not getattr(args, "distributed", False) or cr.distributed.is_main():
            saved = f" Nothing was written to {args.save}." if args.save else ""
            print(f"chainrule train: error: {err}{saved}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start

    if regression:
        _print_regression(pred[:, 0] * y_std + y_mean, yte, elapsed)
    else:
        _print_accuracy(pred, yte, elapsed)
    if args.save:
        cr.distributed.save(  # rank 0 writes when several processes train; others wait
            {
                "kind": "chainrule-train",
                "config": config,
                "model": getattr(model, "module", model).state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epochs,
                "mean": mean,
                "std": std,
                "y_mean": y_mean,
                "y_std": y_std,
            },
            args.save,
        )
        print(f"saved the model to {args.save}")
    if not cr.distributed.is_main():
        return 0  # pictures from rank 0 only
    decision_regions = X.shape[1] == 2 and not regression
    _pictures(args, history, model, (Xtr, ytr, Xte, yte) if decision_regions else None)
    return 0


def _check_args(args) -> None:
    """The options' values that cannot work, refused before any data is loaded."""
    if args.model == "cnn" and args.dataset != "digits":
        raise ValueError("--model cnn needs images: use it with --dataset digits")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    _check_output("--save", args.save)
    _check_output("--plot", args.plot)
    _check_output("--grad-flow", args.grad_flow)


def _epochs_and_lr(args, opt_name: str, regression: bool) -> tuple:
    """The given epochs and learning rate, or the defaults for the model and problem."""
    synthetic = args.dataset in SYNTHETIC
    long_run = regression or args.dataset == "spirals"
    epochs = args.epochs or (20 if args.model == "cnn" else (100 if long_run else 30))
    lr = args.lr or DEFAULT_LR[opt_name]
    if args.lr is None and opt_name in ("adam", "adamw", "rmsprop"):
        # a CNN, and 2-D toy problems with few weights, take larger steps
        lr = 3e-3 if args.model == "cnn" else (1e-2 if synthetic else lr)
    return epochs, lr


def _standardised(Xtr, Xte, images: bool) -> tuple:
    """Features scaled by the training set's mean and standard deviation (pixel intensities
    0..16 to [0, 1] for images, shaped (N, 1, 8, 8)); with the mean and std used."""
    if images:
        mean, std = np.zeros(1), np.full(1, 16.0)
    else:
        mean, std = Xtr.mean(0), Xtr.std(0)
        std[std == 0] = 1.0
    Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    if images:
        Xtr, Xte = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)
    return Xtr, Xte, mean, std


def _print_regression(pred, yte, elapsed: float) -> None:
    r2 = 1.0 - np.sum((yte - pred) ** 2) / np.sum((yte - yte.mean()) ** 2)
    print(
        f"test R^2: {r2:.4f}   test RMSE: {np.sqrt(np.mean((yte - pred) ** 2)):.2f} "
        f"({len(yte)} samples; trained in {elapsed:.1f} s)"
    )


def _print_accuracy(pred, yte, elapsed: float) -> None:
    acc = float(np.mean(np.argmax(pred, axis=1) == yte))
    print(
        f"test accuracy: {acc:.4f} ({int(round(acc * len(yte)))}/{len(yte)}; "
        f"trained in {elapsed:.1f} s)"
    )


def _pictures(args, history, model, points) -> None:
    """--plot (with the decision regions when ``points``, (Xtr, ytr, Xte, yte) of a 2-D
    classification, are given) and --grad-flow."""
    if args.plot and points is not None:
        from chainrule.viz.plots import plot_training

        Xtr, ytr, Xte, yte = points
        plot_training(history, model, Xtr, ytr, args.plot, X_test=Xte, y_test=yte)
        print(f"saved the training curves and decision regions to {args.plot}")
    elif args.plot:
        history.plot(args.plot)
        print(f"saved the training curves to {args.plot}")
    if args.grad_flow:
        history.plot_gradient_flow(args.grad_flow)
        print(f"saved the gradient norm of each layer per epoch to {args.grad_flow}")
