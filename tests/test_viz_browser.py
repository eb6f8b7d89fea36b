"""The step-through page, opened in headless Chromium and clicked as a person would.

Needs Debian's ``chromium`` and Playwright's Python package (``pip install playwright``;
its own browser download is not used): the ``browser`` fixture of conftest.py. Skipped, with
the reason, where either is missing.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.core import explain
from chainrule.explain.page import explanation_html

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def _open(context, path):
    """Open ``path`` in a new page; return the page and lists of console errors/requests."""
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, errors, requests


def _not_blank(png: bytes) -> float:
    image = pytest.importorskip("matplotlib.image")
    pixels = np.asarray(image.imread(io.BytesIO(png), format="png"), dtype=np.float64)
    return float(pixels[..., :3].std())


def _step_until(page, name: str, limit: int = 50) -> int:
    for clicks in range(1, limit + 1):
        page.click(".crx-step")
        if page.get_attribute(".panel", "data-node") == name:
            return clicks
    raise AssertionError(f"Step never reached {name!r}")


def test_skydiver_page_steps_back_to_t(browser, tmp_path):
    e = explain(SKYDIVER, wrt="t", t=10)
    path = tmp_path / "skydiver.html"
    path.write_text(explanation_html(e), encoding="utf-8")
    page, errors, requests = _open(browser, path)
    assert page.inner_text(".crx-count") == "0 / 4"
    assert page.is_disabled(".crx-back")

    clicks = _step_until(page, "t")
    assert clicks == 4  # P, h, g, t: one node at a time
    grad_t = page.inner_text('tr[data-name="t"] td.grad')
    assert round(float(grad_t), 4) == 699.0453
    panel = page.inner_text(".panel")
    assert "98 × 7.133115386 = 699.0453078" in panel  # local × upstream = gradient
    active = page.query_selector_all(".node.active")
    assert len(active) == 1
    assert active[0].get_attribute("id").endswith("-q0")  # t, the first quantity
    assert "value 10" in active[0].text_content()
    assert page.is_disabled(".crx-step")

    page.click(".crx-back")  # Back un-shows t's gradient and highlights g again
    assert page.get_attribute(".panel", "data-node") == "g"
    assert page.inner_text('tr[data-name="t"] td.grad') == "—"
    assert page.inner_text('tr[data-name="g"] td.grad') == "7.133115386"

    shot = page.screenshot(full_page=True)
    assert _not_blank(shot) > 0.02
    assert errors == []
    assert all(url.startswith("file:") for url in requests), requests  # nothing fetched
    page.close()


def test_play_walks_to_the_end(browser, tmp_path):
    e = explain("z = x*y + sin(x); y = x**2", x=1.5)
    path = tmp_path / "two.html"
    path.write_text(explanation_html(e), encoding="utf-8")
    page, errors, _ = _open(browser, path)
    page.evaluate(
        "() => { window.setInterval = (f) => { for (let i = 0; i < 9; i++) f(); return 1; }; }"
    )
    page.click(".crx-play")
    assert page.inner_text(".crx-count") == "3 / 3"
    grad_x = float(page.inner_text('tr[data-name="x"] td.grad'))
    assert grad_x == pytest.approx(1.5**2 + np.cos(1.5) + 2 * 1.5 * 1.5, rel=1e-9)
    assert errors == []
    page.close()


def test_network_loss_page(browser, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3))
    w1, w2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    target = rng.normal(size=(6, 2))

    def loss(W1, W2):
        h = cr.named(cr.tanh(x @ W1), "h")
        return cr.named(cr.mean((h @ W2 - target) ** 2), "L")

    e = explain(loss, W1=w1, W2=w2)
    path = tmp_path / "net.html"
    path.write_text(explanation_html(e), encoding="utf-8")
    page, errors, _ = _open(browser, path)
    total = int(page.inner_text(".crx-count").split("/")[1])
    _step_until(page, "W1", limit=total)
    shown = page.inner_text('tr[data-name="W1"] td.grad')
    norm = float(np.linalg.norm(e.derivatives["W1"]))
    assert f"norm {norm:.6g}" in shown
    assert errors == []
    assert _not_blank(page.screenshot()) > 0.02
    page.close()


def test_page_without_graphviz(browser, tmp_path, monkeypatch):
    # The fallback drawing (no `dot` on PATH) is still highlighted step by step.
    monkeypatch.setenv("PATH", os.devnull)
    e = explain(SKYDIVER, wrt="t", t=10)
    path = tmp_path / "plain.html"
    path.write_text(explanation_html(e), encoding="utf-8")
    monkeypatch.undo()
    page, errors, _ = _open(browser, path)
    _step_until(page, "h")
    assert page.query_selector_all(".node.active rect")
    assert errors == []
    page.close()


def _inside_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)])
def test_active_node_always_in_view(browser, tmp_path, size):
    # A wide network graph: at every step of the walk the highlighted node is on screen.
    rng = np.random.default_rng(1)
    x, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    w = {
        "W1": rng.normal(size=(3, 4)),
        "W2": rng.normal(size=(4, 4)),
        "W3": rng.normal(size=(4, 2)),
    }

    def loss(W1, W2, W3):
        h1 = cr.named(cr.tanh(x @ W1), "h1")
        h2 = cr.named(cr.sigmoid(h1 @ W2), "h2")
        return cr.named(cr.mean((h2 @ W3 - target) ** 2), "L")

    path = tmp_path / "wide.html"
    path.write_text(explanation_html(explain(loss, **w)), encoding="utf-8")
    page, errors, _ = _open(browser, path)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.reload()
    natural = float(page.get_attribute(".graph svg", "width"))
    total = int(page.inner_text(".crx-count").split("/")[1])
    assert total >= 8
    for k in range(total):
        page.click("[data-testid=step-next]")
        assert len(page.query_selector_all("[data-testid=active-node]")) == 1
        assert _inside_viewport(page, "[data-testid=active-node]"), f"step {k + 1}"
    page.click(".crx-fit")  # the whole width in the box
    fitted = float(page.get_attribute(".graph svg", "width"))
    assert fitted < natural and fitted <= page.locator("div.graph").bounding_box()["width"]
    page.click(".crx-zoom-in")
    assert float(page.get_attribute(".graph svg", "width")) == pytest.approx(fitted * 1.25, abs=0.2)
    assert _inside_viewport(page, "[data-testid=active-node]")
    assert errors == []
    page.close()


def test_skydiver_steps_in_view_at_1024(browser, tmp_path):
    path = tmp_path / "skydiver.html"
    path.write_text(explanation_html(explain(SKYDIVER, wrt="t", t=10)), encoding="utf-8")
    page, errors, _ = _open(browser, path)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.reload()
    for name in ("P", "h", "g", "t"):  # the backward pass starts at the output P
        page.click("[data-testid=step-next]")
        assert page.get_attribute(".panel", "data-node") == name
        assert _inside_viewport(page, "[data-testid=active-node]"), name
    assert errors == []
    page.close()
