"""``chainrule train`` end to end (small runs)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from chainrule import cli  # noqa: E402
from chainrule.train_cli import load_checkpoint  # noqa: E402


def test_train_iris_saves_a_checkpoint_that_reloads(tmp_path, capsys):
    ckpt, png = tmp_path / "iris.ckpt", tmp_path / "curves.png"
    status = cli.main(
        [
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "40",
            "--batch-size",
            "8",
            "--save",
            str(ckpt),
            "--plot",
            str(png),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "iris: 120 training and 30 test samples" in out
    acc = float(out.split("test accuracy: ")[1].split()[0])
    assert acc >= 0.9
    assert f"saved the model to {ckpt}" in out and png.read_bytes()[:4] == b"\x89PNG"

    model, ck = load_checkpoint(ckpt)
    assert ck["config"]["hidden"] == [64] and ck["epoch"] == 40
    from chainrule import datasets
    from chainrule.data import train_test_split
    from chainrule.train import predict

    X, y = datasets.load_iris()
    _, Xte, _, yte = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    pred = predict(model, (Xte - ck["mean"]) / ck["std"])
    assert float(np.mean(np.argmax(pred, 1) == yte)) == pytest.approx(acc, abs=5e-5)


def test_train_regression_and_cnn(capsys):
    assert cli.main(["train", "--dataset", "diabetes", "--epochs", "5", "--no-progress"]) == 0
    assert "test R^2:" in capsys.readouterr().out
    assert cli.main(["train", "--model", "cnn", "--epochs", "1", "--no-progress"]) == 0
    assert "cnn with 6090 parameters" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--hidden", "64,x"], "--hidden expects sizes like 64,64"),
        (["--dataset", "iris", "--model", "cnn"], "--model cnn needs images"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--dataset", "mnist"], "invalid choice: 'mnist'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("compiled", [[], ["--compile"]], ids=["eager", "compiled"])
def test_a_diverging_run_ends_in_one_error_line_and_status_2(compiled, tmp_path, capsys):
    ckpt = tmp_path / "model.ckpt"
    argv = ["train", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "2", "--no-progress",
            "--save", str(ckpt), *compiled]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    # (NumPy's overflow warnings may come before it, outside pytest: they are not errors)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("chainrule train: error: fit: the loss became")
    assert "lower learning rate" in err and f"Nothing was written to {ckpt}" in err
    assert "test accuracy" not in out and not ckpt.exists()


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_unwritable_output_is_refused_before_training(option, tmp_path, capsys):
    missing = tmp_path / "no-such-dir" / "out.bin"
    assert cli.main(["train", option, str(missing), "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
    assert "test accuracy" not in out  # nothing was trained
    assert cli.main(["train", option, str(tmp_path), "--no-progress"]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["moons", "circles"])
def test_generated_datasets_train_well(dataset, capsys):
    assert cli.main(["train", "--dataset", dataset, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert float(out.split("test accuracy: ")[1].split()[0]) >= 0.96
