"""``chainrule serve`` in headless Chromium, used as a person would: the explorer, the
step-through at 1024x768, and the network playground.

Needs Starlette, uvicorn, Playwright's Python package and Debian's ``chromium`` (skipped,
with the reason, where one is missing). With ``CHAINRULE_UPDATE_SCREENSHOTS=1`` the
README's screenshots in ``docs/`` are written anew.
"""

from __future__ import annotations

import math
import os
import pathlib
import time

import pytest

pytest.importorskip("starlette", reason="Starlette is not installed (pip install -e '.[serve]')")
pytest.importorskip("uvicorn", reason="uvicorn is not installed (pip install -e '.[serve]')")
pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")

from serve_live import running  # noqa: E402

from chainrule.serve import create_app  # noqa: E402

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t^2"
DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
BROWSER_VIEWPORT = (1280, 900)  # for conftest.py's browser fixture


@pytest.fixture(scope="module")
def site(browser):
    """The app on a free loopback port, and the module's Chromium; the app is stopped at
    the end."""
    app = create_app()
    with running(app) as url:
        yield url, app, browser


def _open(context, url, size=None):
    page = context.new_page()
    if size:
        page.set_viewport_size({"width": size[0], "height": size[1]})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(url.split("?")[0].rsplit("/", 1)[0]) or r.url.startswith("data:")
            else outside.append(r.url)
        ),
    )
    page.goto(url)
    return page, errors, outside


def _screenshot(page, name, tmp_path, full_page=False):
    path = (DOCS if os.environ.get("CHAINRULE_UPDATE_SCREENSHOTS") == "1" else tmp_path) / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000


def _click_weight(page, testid: str) -> None:
    """Click a weight's line as a person would: 60% of the way to the unit it feeds (lines
    cross at their middles; near the target they fan apart)."""
    x, y = page.evaluate(
        """id => { const l = document.querySelector(`[data-testid="${id}"]`);
        const m = l.getScreenCTM(), t = 0.6, a = n => +l.getAttribute(n);
        const x = a('x1') * (1 - t) + a('x2') * t, y = a('y1') * (1 - t) + a('y2') * t;
        return [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]; }""",
        testid,
    )
    page.mouse.click(x, y)


def _attached(page, selector: str) -> None:
    page.wait_for_selector(selector, state="attached")


def _derivative(page, expected: str):
    page.wait_for_function(
        "t => document.querySelector('[data-testid=derivative]').textContent === t", arg=expected
    )


def test_explorer_sin_x_squared(site, tmp_path):
    url, _, context = site
    page, errors, outside = _open(context, url + "/")
    page.wait_for_selector("[data-testid=link]")
    page.fill("[data-testid=expression]", "")
    page.type("[data-testid=expression]", "sin(x", delay=200)  # typed as a person types
    page.wait_for_function("() => document.querySelector('#explain-error').textContent !== ''")
    page.type("[data-testid=expression]", "^2)", delay=200)
    page.fill("[data-testid=point-x]", "1")
    _derivative(page, f"{2 * math.cos(1.0):.10g}")  # 2x·cos(x²) at 1 = 1.080604612
    assert page.inner_text("[data-testid=derivative]") == "1.080604612"
    assert page.inner_text("#explain-error") == ""
    links = page.locator("[data-testid=link]")
    assert links.count() == 2  # u = x², f = sin(u): df/du = cos(u), du/dx = 2·x
    rows = [links.nth(k).inner_text() for k in range(2)]
    assert "df/du" in rows[0] and f"{math.cos(1.0):.10g}" in rows[0]
    assert "du/dx" in rows[1] and rows[1].split()[-1] == "2"
    assert "1.080604612" in page.inner_text("[data-testid=path-sum]")
    assert page.input_value("[data-testid=wrt]") == "x"

    page.fill("[data-testid=point-x]", "2")  # typed
    _derivative(page, f"{4 * math.cos(4.0):.10g}")
    page.eval_on_selector(  # dragged: the slider moves and fires input events
        "[data-testid=slider-x]",
        "s => { s.value = '1.5'; s.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    _derivative(page, f"{3 * math.cos(2.25):.10g}")
    assert page.input_value("[data-testid=point-x]") == "1.5"
    page.wait_for_function("() => location.search.includes('at=x%3D1.5')")
    _screenshot(page, "serve-explorer.png", tmp_path)

    # gradient descent: x <- x - eta * f'(x), with f'(1.5) = 3 cos(2.25)
    page.fill("#eta", "0.1")
    page.click("[data-testid=descent-step]")
    x1 = 1.5 - 0.1 * 3 * math.cos(2.25)
    _derivative(page, f"{2 * x1 * math.cos(x1 * x1):.10g}")
    assert float(page.input_value("[data-testid=point-x]")) == pytest.approx(x1, rel=1e-9)

    # the link carries the expression and the point
    page.wait_for_function(
        "x => new URLSearchParams(location.search).get('at') === 'x=' + String(x)", arg=x1
    )
    shared, errors2, _ = _open(context, page.url)
    _derivative(shared, f"{2 * x1 * math.cos(x1 * x1):.10g}")
    assert shared.input_value("[data-testid=expression]") == "sin(x^2)"

    page.fill("[data-testid=expression]", "x*y + sin(x)")  # two inputs, wrt y
    page.wait_for_selector("[data-testid=point-y]")
    page.select_option("[data-testid=wrt]", "y")
    x = float(page.input_value("[data-testid=point-x]"))
    _derivative(page, f"{x:.10g}")
    assert errors == [] and errors2 == [] and outside == []
    page.close()
    shared.close()


def test_step_through_skydiver_keeps_the_active_node_in_view(site):
    url, _, context = site
    from urllib.parse import urlencode

    query = urlencode({"tab": "steps", "expr": SKYDIVER, "at": "t=10", "wrt": "t"})
    page, errors, _ = _open(context, f"{url}/?{query}", size=(1024, 768))
    page.wait_for_selector("[data-testid=step-next]")
    seen = []
    while page.is_enabled("[data-testid=step-next]"):
        page.click("[data-testid=step-next]")
        box = page.locator("[data-testid=active-node]").bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["y"] >= 0, seen
        assert box["x"] + box["width"] <= 1024 and box["y"] + box["height"] <= 768, seen
        seen.append(page.get_attribute(".panel", "data-node"))
    assert seen == ["P", "h", "g", "t"]
    assert "699.0453078" in page.inner_text(".panel")
    assert errors == []
    page.close()


def test_playground_trains_moons_and_explains_a_weight(site, tmp_path):
    url, app, context = site
    page, errors, outside = _open(context, url + "/?tab=playground")
    _attached(page, "[data-testid=weight-1-0-0]")
    page.fill("[data-testid=layers]", "8,99")  # out of range: said on the page
    page.dispatch_event("[data-testid=layers]", "change")
    assert "each 1 to 16" in page.inner_text("#net-error")
    page.select_option("[data-testid=dataset]", "moons")
    page.fill("[data-testid=layers]", "8")
    page.dispatch_event("[data-testid=layers]", "change")
    _attached(page, "[data-testid=weight-1-1-7]")
    page.click("[data-testid=train]")
    page.wait_for_function(
        "() => parseFloat(document.querySelector('[data-testid=loss]').textContent) < 0.3",
        timeout=30_000,
    )
    page.click("[data-testid=pause]")
    page.wait_for_function("() => !document.querySelector('[data-testid=train]').disabled")
    steps = None
    while steps != page.inner_text("#stepcount"):  # the last request in flight has landed
        steps = page.inner_text("#stepcount")
        time.sleep(0.3)
    _click_weight(page, "weight-1-0-2")
    total = page.wait_for_selector("[data-testid=derivation-total]")
    shown = float(total.get_attribute("data-value"))
    sid = page.evaluate("Playground.sid()")
    session = app.state.playground.sessions[sid]
    assert str(session.steps) == steps
    engine = float(session.linears[0].weight.grad[2, 0])  # model.0.weight.grad after that step
    # The derivation is float64 NumPy from the float32 model's batch and weights.
    assert shown == pytest.approx(engine, rel=1e-5, abs=1e-9)
    assert "W1[2,0]" in page.inner_text("[data-testid=weight-derivation]")
    assert "✓ the same" in page.inner_text("[data-testid=weight-derivation]")

    # Two hidden layers: a first-layer weight reaches the loss along 6 paths.
    page.fill("[data-testid=layers]", "6,6")
    page.dispatch_event("[data-testid=layers]", "change")
    _attached(page, "[data-testid=weight-2-5-5]")
    page.click("[data-testid=train]")
    page.wait_for_function(
        "() => parseFloat(document.querySelector('[data-testid=loss]').textContent) < 0.2",
        timeout=30_000,
    )
    page.click("[data-testid=pause]")
    page.wait_for_function("() => !document.querySelector('[data-testid=train]').disabled")
    _click_weight(page, "weight-1-1-3")
    page.wait_for_function(
        "() => /sum over 6 paths/.test(document.querySelector('[data-testid=weight-derivation]')"
        ".textContent)"
    )
    assert "∂L/∂W1[3,1]" in page.inner_text("[data-testid=weight-derivation]")
    _screenshot(page, "serve-playground.png", tmp_path, full_page=True)

    other, errors2, _ = _open(context, url + "/?tab=playground")  # another tab, its own model
    _attached(other, "[data-testid=weight-1-0-0]")
    assert other.evaluate("Playground.sid()") not in (None, sid)
    assert other.inner_text("#stepcount") == "0"
    other_sid = other.evaluate("Playground.sid()")
    other.click("[data-testid=train]")
    other.wait_for_function("() => +document.querySelector('#stepcount').textContent > 0")
    other.close()  # the page goes away: its model stops and is dropped
    sessions = app.state.playground.sessions
    for _ in range(100):
        if other_sid not in sessions:
            break
        time.sleep(0.05)
    assert other_sid not in sessions
    assert errors == [] and errors2 == [] and outside == []
    page.close()
