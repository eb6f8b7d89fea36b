"""``chainrule serve``: the server under load and bad input, the playground's models, and
the chain-rule derivation of a weight's gradient against the engine."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("starlette", reason="Starlette is not installed (pip install -e '.[serve]')")
pytest.importorskip("uvicorn", reason="uvicorn is not installed (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx", reason="httpx is not installed (pip install httpx)")

from serve_live import running  # noqa: E402

from chainrule.serve import create_app, is_loopback  # noqa: E402
from chainrule.serve import explorer as explorer_module  # noqa: E402
from chainrule.serve.app import MAX_BODY, Settings  # noqa: E402
from chainrule.serve.derivation import derivative  # noqa: E402
from chainrule.serve.playground import Limits, Playground, Session  # noqa: E402


@pytest.fixture(scope="module")
def server():
    app = create_app()
    with running(app) as url:
        yield url, app


def _post(url, body=None, **kw):
    return httpx.post(url, json=body, timeout=5, **kw)


def test_twenty_concurrent_explains_all_correct(server):
    url, _ = server
    # One request first: a fresh server's first explain loads SymPy.
    warm = httpx.post(f"{url}/api/explain", json={"expression": "x", "point": {"x": 0}}, timeout=60)
    assert warm.status_code == 200
    xs = [0.1 * k - 1.0 for k in range(20)]

    def one(x):
        r = _post(f"{url}/api/explain", {"expression": "sin(x^2)", "point": {"x": x}})
        return x, r

    with ThreadPoolExecutor(20) as pool:  # a request not answered in 5 s fails (timeout)
        answers = list(pool.map(one, xs))
    for x, r in answers:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["derivative"] == pytest.approx(2 * x * math.cos(x * x), rel=1e-12, abs=1e-15)
        assert body["value"] == pytest.approx(math.sin(x * x), rel=1e-12, abs=1e-15)
        assert body["links"] and body["paths"]


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server):
    url, _ = server
    big = "x+" * 50_000 + "x"  # a 100 KB expression
    r = _post(f"{url}/api/explain", {"expression": big, "point": {"x": 1}})
    assert r.status_code == 413
    assert f"the limit is {MAX_BODY} bytes" in r.json()["error"]
    assert "at most 2000 characters" in r.json()["error"]
    cases = [  # malformed: 4xx
        (b"{bad json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"expression": 5}', 400, "must be a string"),
        (b'{"expression": "log(x)", "point": {"x": "one"}}', 400, "finite number"),
        (b'{"expression": "log(x)", "point": [1]}', 400, "the point must map"),
        # well-formed, but the expression cannot be explained: the page shows the message
        (b'{"expression": "' + b"x+" * 1500 + b'x"}', 200, "the limit is 2000"),
        (b'{"expression": "__import__(\'os\')"}', 200, "unknown function"),
        (b'{"expression": "x.__class__"}', 200, "attribute access"),
        (b'{"expression": "sin(x", "point": {"x": 1}}', 200, "column"),
        (b'{"expression": "x^99999999999", "point": {"x": 2}}', 200, "exponent"),
        (b'{"expression": "log(x)", "point": {"x": -1}}', 200, "log is defined for x > 0"),
    ]
    for data, status, words in cases:
        r = httpx.post(f"{url}/api/explain", content=data, timeout=5)
        assert r.status_code == status, (data[:40], r.status_code, r.text)
        assert words in r.json()["error"], (data[:40], r.text)
        assert set(r.json()) == {"error"}
    assert httpx.get(f"{url}/api/net/nope/weight?layer=1&i=0&j=0", timeout=5).status_code == 404
    assert _post(f"{url}/api/net", {"hidden": [1000]}).status_code == 400
    assert _post(f"{url}/api/net", {"dataset": "../../etc/passwd"}).status_code == 400
    assert httpx.get(f"{url}/static/..%2F__init__.py", timeout=5).status_code == 404
    assert httpx.get(f"{url}/static/app.py", timeout=5).status_code == 404
    odd = [
        {"expression": 5},
        {"expression": "x", "point": [1]},
        {"expression": "x", "wrt": [1]},
        {"expression": "x", "point": {"x": None}},
        {"expression": "x", "half_width": "wide"},
        {"expression": "x", "point": {"x": 1e308}},
        {"expression": "x/0", "point": {"x": 1}},
    ]
    for body in odd:
        for route in ("explain", "curve"):  # stepthrough reads its body as explain does
            r = _post(f"{url}/api/{route}", body)
            assert r.status_code in (200, 400), (route, body, r.status_code, r.text)
    assert _post(f"{url}/api/stepthrough", {"expression": 5}).status_code == 400
    for spec in [{"hidden": "8"}, {"lr": None}, {"batch": 2.5}, {"hidden": [True]}, {"seed": -1}]:
        r = _post(f"{url}/api/net", spec)
        assert r.status_code == 400, (spec, r.text)
    sid = _post(f"{url}/api/net", {}).json()["id"]
    for steps in ["x", 0, 10**6, None, True]:
        r = _post(f"{url}/api/net/{sid}/train", {"steps": steps})
        assert r.status_code == 400, (steps, r.text)
    for q in ["", "?layer=1&i=0", "?layer=x&i=0&j=0", "?layer=9&i=0&j=0", "?layer=1&i=5&j=0"]:
        r = httpx.get(f"{url}/api/net/{sid}/weight{q}", timeout=5)
        assert r.status_code == 400, (q, r.text)
    _post(f"{url}/api/net/{sid}/close")
    # still serving, and still right
    assert httpx.get(url, timeout=5).status_code == 200
    r = _post(f"{url}/api/explain", {"expression": "x^3", "point": {"x": 2}})
    assert r.status_code == 200 and r.json()["derivative"] == pytest.approx(12.0)


def test_headers_and_no_external_resources(server):
    url, app = server
    r = httpx.get(url, timeout=5)
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in _post(f"{url}/api/explain", {}).headers
    names = set(re.findall(r'(?:src|href)="/static/([\w.]+)"', r.text))
    assert {"app.js", "explorer.js", "playground.js", "plot.js", "stepthrough.js"} <= names
    for name in names:
        text = httpx.get(f"{url}/static/{name}", timeout=5).text
        found = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not found, (name, found)
        assert "<script" not in text or name == "index.html"
    assert "<script>" not in r.text  # no inline script: the CSP would refuse it


def test_other_host_names_are_refused(server):
    url, _ = server
    r = httpx.get(url, headers={"host": "attacker.example"}, timeout=5)
    assert r.status_code == 400


def test_explain_time_limit_stops_a_slow_request(monkeypatch):
    app = create_app(Settings(explain_timeout=0.2))
    release = threading.Event()

    def stuck(*args):
        release.wait(10.0)
        return {}

    monkeypatch.setattr(explorer_module, "explain_payload", stuck)
    with running(app) as url:
        try:
            r = _post(f"{url}/api/explain", {"expression": "x"})
            assert r.status_code == 503
            assert "longer than 0.2 s" in r.json()["error"]
            # The stuck call still holds its worker; the server answers the next one.
            monkeypatch.setattr(explorer_module, "explain_payload", lambda *a: {"answered": 1})
            r = _post(f"{url}/api/explain", {"expression": "x"})
            assert r.status_code == 200 and r.json() == {"answered": 1}
            assert httpx.get(url, timeout=5).status_code == 200
        finally:
            release.set()


def test_a_slow_formula_is_cut_short_by_the_symbolic_budget():
    # SymPy may simplify this for many seconds; with a tiny budget the server answers with
    # the unsimplified (still checked) formulas and says so, and the engine's number.
    app = create_app(Settings(symbolic_budget=1e-6))
    expr = "asin(x) - tanh(x*x)*atan(x)*x"
    with running(app) as url:
        r = httpx.post(
            f"{url}/api/explain", json={"expression": expr, "point": {"x": 0.3}}, timeout=30
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert any("symbolic budget" in note for note in body["notes"])
    x = 0.3
    exact = (
        1 / math.sqrt(1 - x * x)
        - (1 - math.tanh(x * x) ** 2) * 2 * x * math.atan(x) * x
        - math.tanh(x * x) * (x / (1 + x * x) + math.atan(x))
    )
    assert body["derivative"] == pytest.approx(exact, rel=1e-12)


def test_curve_is_f_and_its_derivative():
    c = explorer_module.curve_payload("sin(x^2)", {"x": 1.0}, "x")
    x = np.array(c["x"])
    assert x[0] == pytest.approx(-1.0) and x[-1] == pytest.approx(3.0)
    np.testing.assert_allclose(c["f"], np.sin(x**2), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c["df"], 2 * x * np.cos(x**2), rtol=1e-12, atol=1e-14)
    c = explorer_module.curve_payload("x*y + 3", {"x": 2.0, "y": 5.0}, "y")
    np.testing.assert_allclose(c["df"], 2.0)  # d/dy (x*y + 3) = x, whatever y is
    c = explorer_module.curve_payload("x^2", {"x": 1e300}, "x")  # typed huge: no 400
    assert c["f"][0] is None and c["df"][0] == pytest.approx(2e300)
    c = explorer_module.curve_payload("log(x)", {"x": 1.0}, "x")
    assert c["f"][0] is None and c["df"][-1] == pytest.approx(1 / c["x"][-1])


def _train(base, sid, rounds):
    out = []
    for _ in range(rounds):
        r = _post(f"{base}/api/net/{sid}/train", {"steps": 10})
        assert r.status_code == 200, r.text
        out = r.json()
    return out


def test_two_sessions_training_at_once_do_not_interfere(server):
    url, app = server
    specs = [
        {"dataset": "moons", "hidden": [6], "activation": "tanh", "seed": 0},
        {"dataset": "xor", "hidden": [4, 4], "activation": "relu", "lr": 0.1, "seed": 3},
    ]
    ids = [_post(f"{url}/api/net", s).json()["id"] for s in specs]
    assert ids[0] != ids[1]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda sid: _train(url, sid, 5), ids))
    for spec, sid, got in zip(specs, ids, together):
        alone = Session(spec)  # the same model trained by itself, step by step
        while alone.steps < got["steps"]:
            alone.train(got["steps"] - alone.steps)
        assert got["steps"] == 50
        w_alone = alone.state()["weights"]
        assert got["weights"] == w_alone
        session = app.state.playground.sessions[sid]
        np.testing.assert_array_equal(
            session.linears[0].weight.numpy(), alone.linears[0].weight.numpy()
        )
        _post(f"{url}/api/net/{sid}/close")
    assert not set(ids) & set(app.state.playground.sessions)


def test_at_most_n_models_and_idle_ones_are_dropped():
    pg = Playground(Limits(max_jobs=2))
    a, _ = pg.create({})
    pg.create({"dataset": "circles"})
    with pytest.raises(Exception, match="2 networks are training on this server; wait"):
        pg.create({})
    pg.close(a)
    pg.create({"dataset": "spirals", "hidden": [16, 16]})
    idle = Playground(Limits(max_jobs=2, idle_s=0.0))
    sid, _ = idle.create({})
    time.sleep(0.01)
    with pytest.raises(KeyError, match="gone"):
        idle.get(sid)


def test_model_size_and_settings_are_bounded():
    for spec, words in [
        ({"hidden": [8] * 5}, "1 to 4 layer widths"),
        ({"hidden": [17]}, "each 1 to 16"),
        ({"samples": 10**6}, "samples must be from"),
        ({"batch": 0}, "batch must be from"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"activation": "gelu"}, "activation must be one of"),
    ]:
        with pytest.raises(ValueError, match=words):
            Session(spec)
    with pytest.raises(ValueError, match="take a training step first"):
        Session({}).weight(1, 0, 0)
    s = Session({})
    s.seconds = 1e9  # its training time is spent: no more steps, and the page is told why
    assert s.train(10) == 0 and "press Reset" in s.state()["stopped"]


@pytest.mark.parametrize(
    "activation, module", [("tanh", "Tanh"), ("sigmoid", "Sigmoid"), ("relu", "ReLU")]
)
def test_derivation_sums_paths_to_the_engines_gradient(activation, module):
    cr.set_default_dtype(cr.float64)
    rng = np.random.default_rng(5)
    act = getattr(cr.nn, module)
    model = cr.nn.Sequential(
        cr.nn.Linear(2, 3), act(), cr.nn.Linear(3, 4), act(), cr.nn.Linear(4, 1)
    )
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    loss = cr.nn.BCEWithLogitsLoss()(model(cr.tensor(X)).reshape(-1), cr.tensor(y * 1.0))
    loss.backward()
    linears = [model[0], model[2], model[4]]
    Ws = [m.weight.numpy() for m in linears]
    bs = [m.bias.numpy() for m in linears]
    for layer, m in enumerate(linears, 1):
        G = m.weight.grad
        for j in range(G.shape[0]):
            for i in range(G.shape[1]):
                d = derivative(Ws, bs, activation, X, y, layer, i, j)
                assert d["value"] == pytest.approx(G[j, i], rel=1e-10, abs=1e-15)
                assert d["paths"] == {1: 4, 2: 1, 3: 1}[layer]  # units of the later layers
                assert d["value"] == pytest.approx(
                    sum(p["batch_sum"] for p in d["shown"]) + d["rest"], rel=1e-12, abs=1e-15
                )


def test_session_weight_matches_its_engine_gradient():
    s = Session({"dataset": "spirals", "hidden": [5, 3], "activation": "sigmoid"})
    s.train(3)
    d = s.weight(1, 1, 4)
    assert d["paths"] == 3 and d["step"] == 3
    # float64 derivation from the float32 model's weights and batch
    assert d["value"] == pytest.approx(float(s.linears[0].weight.grad[4, 1]), rel=1e-5, abs=1e-9)


def test_loopback_and_the_warning_for_other_hosts(monkeypatch, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    import uvicorn

    seen = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets: seen.append(sockets[0].getsockname())
    )
    from chainrule.serve import run

    run("0.0.0.0", 0)  # bound, then the (stubbed) server would serve on it
    assert seen[-1][0] == "0.0.0.0"
    assert "warning: serving on 0.0.0.0" in capsys.readouterr().err
    run(port=0)
    assert seen[-1][0] == "127.0.0.1"
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert f"http://127.0.0.1:{seen[-1][1]}/" in captured.out


def test_a_port_in_use_is_one_clear_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "chainrule", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"cannot listen on 127.0.0.1 port {port}" in proc.stderr
    assert "choose another --port" in proc.stderr


def test_the_command_serves_and_stops():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert r.status_code == 200 and "chainrule" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_gradient_norms_per_layer_show_a_deep_sigmoid_network_vanishing():
    s = Session({"dataset": "spirals", "hidden": [8, 8, 8, 8], "activation": "sigmoid"})
    s.train(1)
    norms = s.state()["grad_norms"]
    assert norms == [float(np.linalg.norm(m.weight.grad)) for m in s.linears]
    assert len(norms) == 5 and norms[0] < norms[-1] / 20  # each σ′ ≤ 1/4 on the way back
