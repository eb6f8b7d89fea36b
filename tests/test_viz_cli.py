"""The picture options of the command line: explain --format html -o, diff --plot --range."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from chainrule.cli import main

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def test_explain_html_to_file(tmp_path, capsys):
    out = tmp_path / "skydiver.html"
    status = main(
        ["explain", SKYDIVER, "--wrt", "t", "--at", "t=10", "--format", "html", "-o", str(out)]
    )
    assert status == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "699.0453078" in page
    assert 'class="crx-step"' in page and "<svg" in page


def test_explain_output_for_text_formats(tmp_path):
    out = tmp_path / "sky.json"
    assert main(["explain", SKYDIVER, "--at", "t=10", "--format", "json", "-o", str(out)]) == 0
    assert '"output": "P"' in out.read_text(encoding="utf-8")


def test_explain_unwritable_output_is_one_line(tmp_path, capsys):
    status = main(
        [
            "explain",
            "x**2",
            "--at",
            "x=1",
            "--format",
            "html",
            "-o",
            str(tmp_path / "no" / "x.html"),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write" in err and "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_diff_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "d.png"
    status = main(
        ["diff", "x**2*sin(x)", "--wrt", "x", "--order", "2", "--plot", str(out), "--range", "-3,3"]
    )
    assert status == 0
    assert f"saved the plot to {out}" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("value", "message"),
    [("3,1", "a < b"), ("1", "two numbers"), ("a,2", "--range")],
)
def test_diff_bad_range(tmp_path, capsys, value, message):
    status = main(["diff", "x**2", "--plot", str(tmp_path / "d.png"), f"--range={value}"])
    assert status == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_train_moons_plot_has_decision_regions(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "moons.png"
    status = main(
        ["train", "--dataset", "moons", "--epochs", "3", "--no-progress", "--plot", str(out)]
    )
    assert status == 0
    assert "decision regions" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_size > 20_000


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_explain_svg_picture(tmp_path, capsys):
    out = tmp_path / "skydiver.svg"
    status = main(
        ["explain", SKYDIVER, "--wrt", "t", "--at", "t=10", "--format", "svg", "-o", str(out)]
    )
    assert status == 0
    root = ET.parse(out).getroot()
    text = " ".join(root.itertext())
    for shown in ("dP/dt = 699.0453078", "h = 4000 − g", "dP/dh = −10.1325·e^(−0.0001·h)"):
        assert shown in text


def test_explain_picture_needs_output(capsys):
    assert main(["explain", "x**2", "--at", "x=1", "--format", "png"]) == 2
    assert "-o FILE" in capsys.readouterr().err
