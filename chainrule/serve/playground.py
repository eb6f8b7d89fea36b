"""The network playground's models: one small classifier per browser tab, trained on the
server with chainrule's engine, a few steps per request.

Training advances only while a page asks for it (``train(steps)`` runs for at most
``STEP_BUDGET_S`` seconds and returns), so a closed tab stops its training by itself; an
idle model is dropped after ``IDLE_S`` seconds, and at most ``max_jobs`` models exist at
once. Sizes are bounded (``MAX_LAYERS`` hidden layers of at most ``MAX_WIDTH`` units,
``MAX_SAMPLES`` points) and so is each model's total training (``MAX_STEPS``).
"""

from __future__ import annotations

import secrets
import threading
import time

import numpy as np

import chainrule as cr
from chainrule.serve.derivation import ACTIVATIONS, derivative

__all__ = ["Limits", "Playground", "Session", "BusyError", "DATASETS"]

MAX_LAYERS = 4
MAX_WIDTH = 16
MAX_SAMPLES = 600
MAX_BATCH = 256
MAX_STEPS = 50_000
MAX_SECONDS = 300.0  # of training, per model
STEP_BUDGET_S = 0.25
IDLE_S = 120.0
GRID = 40  # decision regions: GRID x GRID predictions


def _xor(n, noise, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X = X + np.sign(X) * 0.08  # a margin around the axes, as in the classic picture
    return X + rng.normal(scale=noise, size=X.shape), y


def _spirals(n, noise, seed):
    X, y = cr.datasets.make_spirals(n, noise=noise, seed=seed, n_classes=2)
    return X, y


DATASETS = {
    "moons": lambda n, s: cr.datasets.make_moons(n, noise=0.15, seed=s),
    "circles": lambda n, s: cr.datasets.make_circles(n, noise=0.08, seed=s, factor=0.5),
    "spirals": lambda n, s: _spirals(n, 0.04, s),
    "xor": lambda n, s: _xor(n, 0.05, s),
}
_LAYERS = {"sigmoid": cr.nn.Sigmoid, "tanh": cr.nn.Tanh, "relu": cr.nn.ReLU}


class BusyError(RuntimeError):
    """Too many models at once: the page is told to wait."""


def _choice(spec: dict, key: str, options, default):
    value = spec.get(key, default)
    if value not in options:
        raise ValueError(f"{key} must be one of {', '.join(map(str, options))}, got {value!r}")
    return value


def _number(spec: dict, key: str, default, lo, hi, kind=float):
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{key} must be from {lo} to {hi}, got {value!r}")
    return kind(value)


class Session:
    """One tab's model, data and history. Every method runs under the session's lock."""

    def __init__(self, spec: dict):
        self.dataset = _choice(spec, "dataset", list(DATASETS), "moons")
        self.activation = _choice(spec, "activation", list(ACTIVATIONS), "tanh")
        hidden = spec.get("hidden", [8])
        if (
            not isinstance(hidden, list)
            or not 1 <= len(hidden) <= MAX_LAYERS
            or any(isinstance(h, bool) or not isinstance(h, int) for h in hidden)
            or any(not 1 <= h <= MAX_WIDTH for h in hidden)
        ):
            raise ValueError(
                f"hidden must be 1 to {MAX_LAYERS} layer widths, each 1 to {MAX_WIDTH}, "
                f"got {hidden!r}"
            )
        self.hidden = list(hidden)
        self.lr = _number(spec, "lr", 0.3, 1e-5, 10.0)
        self.batch = _number(spec, "batch", 32, 1, MAX_BATCH, int)
        self.samples = _number(spec, "samples", 300, 20, MAX_SAMPLES, int)
        self.seed = _number(spec, "seed", 0, 0, 2**31 - 1, int)
        X, y = DATASETS[self.dataset](self.samples, self.seed)
        self.X, self.y = np.asarray(X, np.float64), np.asarray(y, np.int64)
        self.rng = np.random.default_rng(self.seed)
        widths = [2, *self.hidden, 1]
        layers: list = []
        cr.manual_seed(self.seed)  # the same seed, the same first weights (callers serialise)
        for k in range(len(widths) - 1):
            layers.append(cr.nn.Linear(widths[k], widths[k + 1]))
            if k < len(widths) - 2:
                layers.append(_LAYERS[self.activation]())
        self.model = cr.nn.Sequential(*layers)
        self.linears = [m for m in layers if isinstance(m, cr.nn.Linear)]
        self.optimizer = cr.optim.SGD(self.model.parameters(), lr=self.lr)
        self.loss_fn = cr.nn.BCEWithLogitsLoss()
        self.steps = 0
        self.seconds = 0.0  # spent training
        self.history: dict[str, list] = {"at": [], "loss": [], "accuracy": [], "grad_norms": []}
        self.last: dict | None = None  # the last step's batch and weights before the update
        self.lock = threading.Lock()
        self.seen = time.monotonic()
        lo, hi = self.X.min(0) - 0.5, self.X.max(0) + 0.5
        self.bounds = [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]

    # ----- training ---------------------------------------------------------------------------

    def _step(self) -> None:
        idx = self.rng.choice(len(self.y), size=min(self.batch, len(self.y)), replace=False)
        xb, yb = self.X[idx], self.y[idx]
        weights = [m.weight.numpy() for m in self.linears]
        biases = [m.bias.numpy() for m in self.linears]
        self.optimizer.zero_grad()
        logits = self.model(cr.tensor(xb.astype(np.float32))).reshape(-1)
        loss = self.loss_fn(logits, cr.tensor(yb.astype(np.float32)))
        loss.backward()
        norms = [float(np.linalg.norm(m.weight.grad)) for m in self.linears]
        self.optimizer.step()
        self.steps += 1
        self.last = {
            "X": xb,
            "y": yb,
            "weights": weights,
            "biases": biases,
            "loss": float(loss.item()),
        }
        self.history["grad_norms"].append(norms)

    def _evaluate(self) -> None:
        with cr.no_grad():
            logits = self.model(cr.tensor(self.X.astype(np.float32))).numpy().reshape(-1)
        y = self.y.astype(np.float64)
        # mean BCE with logits over the whole data set, written stably
        loss = np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))
        self.history["at"].append(self.steps)
        self.history["loss"].append(float(loss))
        self.history["accuracy"].append(float(np.mean((logits > 0) == (self.y == 1))))

    def train(self, steps: int) -> int:
        """Up to ``steps`` SGD steps within ``STEP_BUDGET_S`` seconds; the number done."""
        done = 0
        start = time.monotonic()
        while done < steps and self.stopped is None:
            self._step()
            done += 1
            if done % 5 == 0 or done == steps:
                self._evaluate()
            if time.monotonic() - start > STEP_BUDGET_S:
                break
        if done and done % 5 and done != steps:
            self._evaluate()
        self.seconds += time.monotonic() - start
        return done

    @property
    def stopped(self) -> str | None:
        """Why this model trains no more (its bounds), or None."""
        if self.steps >= MAX_STEPS:
            return f"this network has had its {MAX_STEPS} steps: press Reset for a new one"
        if self.seconds >= MAX_SECONDS:
            return f"this network has trained for {MAX_SECONDS:.0f} s: press Reset for a new one"
        return None

    # ----- what the page shows ----------------------------------------------------------------

    def grid(self) -> list[float]:
        """P(class 1) on a GRID x GRID lattice over the data, row by row from the top."""
        x0, x1, y0, y1 = self.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID))
        pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
        with cr.no_grad():
            logits = self.model(cr.tensor(pts)).numpy().reshape(-1).astype(np.float64)
        return np.round(0.5 * (1 + np.tanh(0.5 * logits)), 3).tolist()

    def state(self, *, with_data: bool = False) -> dict:
        out = {
            "steps": self.steps,
            "stopped": self.stopped,
            "at": self.history["at"][-400:],
            "loss": self.history["loss"][-400:],
            "accuracy": self.history["accuracy"][-400:],
            "grad_norms": self.history["grad_norms"][-1] if self.history["grad_norms"] else None,
            "weights": [m.weight.numpy().round(4).tolist() for m in self.linears],
            "grid": self.grid(),
            "grid_size": GRID,
            "bounds": self.bounds,
        }
        if with_data:
            out["points"] = np.round(self.X, 4).tolist()
            out["labels"] = self.y.tolist()
            out["spec"] = {
                "dataset": self.dataset,
                "hidden": self.hidden,
                "activation": self.activation,
                "lr": self.lr,
                "batch": self.batch,
            }
        return out

    def weight(self, layer: int, i: int, j: int) -> dict:
        """The chain rule for ``∂L/∂W_layer[j, i]`` at the last step, and the engine's value."""
        if self.last is None:
            raise ValueError("take a training step first: the derivation shows that step")
        last = self.last
        d = derivative(
            last["weights"], last["biases"], self.activation, last["X"], last["y"], layer, i, j
        )
        d["engine"] = float(self.linears[layer - 1].weight.grad[j, i])
        d["step"] = self.steps
        d["loss"] = last["loss"]
        d["weight"] = float(last["weights"][layer - 1][j, i])
        return d


class Limits:
    """How many models may exist at once and how long an idle one is kept."""

    def __init__(self, max_jobs: int = 8, idle_s: float = IDLE_S):
        self.max_jobs = max_jobs
        self.idle_s = idle_s


class Playground:
    """The sessions of all tabs, by id."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._init_lock = threading.Lock()  # model creation seeds the global generator

    def _expire(self) -> None:
        now = time.monotonic()
        for sid, s in list(self.sessions.items()):
            if now - s.seen > self.limits.idle_s:
                del self.sessions[sid]

    def create(self, spec: dict) -> tuple[str, Session]:
        with self._init_lock:
            session = Session(spec)
        with self._lock:
            self._expire()
            if len(self.sessions) >= self.limits.max_jobs:
                raise BusyError(
                    f"{self.limits.max_jobs} networks are training on this server; wait a "
                    "minute (an idle one is dropped after "
                    f"{self.limits.idle_s:.0f} s) or close another tab"
                )
            sid = secrets.token_urlsafe(12)
            self.sessions[sid] = session
        return sid, session

    def get(self, sid: str) -> Session:
        with self._lock:
            self._expire()
            session = self.sessions.get(sid)
        if session is None:
            raise KeyError(
                "this network is gone (idle too long, or the server restarted): "
                "press Reset to make a new one"
            )
        session.seen = time.monotonic()
        return session

    def close(self, sid: str) -> None:
        with self._lock:
            self.sessions.pop(sid, None)
