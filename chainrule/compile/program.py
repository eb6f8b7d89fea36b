"""The traced program: values (``Var``), constants, and the instructions between them.

A trace is a straight line of instructions in the order they ran:

* ``Op``      — ``out = fn(args, **params)``, pure: a primitive's forward, or a NumPy helper
  without a derivative (comparisons, ``sign``);
* ``Write``   — ``np.copyto(target, value)``: an in-place change of an input, a parameter or
  an intermediate (``x += 1``, ``p -= lr * g`` under ``no_grad``);
* ``Effect``  — a call run as it is on every replay (``optimizer.step()``, drawing a Dropout
  mask from chainrule's generator, BatchNorm's running statistics): state lives outside;
* ``SetGrad`` — ``holder.grad = value``: what ``backward()`` leaves in a parameter's ``.grad``.

Arguments are ``Var`` (a value computed or read at run time), ``Const`` (an object that
does not change, hoisted out of the code) or ``Lit`` (a Python literal written inline).
Parameters (``axis=``, an index) are nests of those, so an index array that varies from
call to call (class labels) is a ``Var`` like any other.
"""

from __future__ import annotations

import math

import numpy as np


class Var:
    """A value of the program. ``kind``: input, state, op, effect."""

    __slots__ = ("n", "name", "kind", "shape", "dtype", "index", "tensor_out")

    def __init__(self, n: int, name: str, kind: str, shape=(), dtype=None, index=None):
        self.n = n
        self.name = name
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.index = index  # input position or state holder number
        self.tensor_out = False  # an Effect returns a Tensor: the code reads its .data

    def __repr__(self) -> str:
        return self.name


class Const:
    """An object fixed for the life of the compiled code (hoisted as a global).

    ``computed``: its value was computed by the function (operations on constants, folded
    at trace time), so where the function returns it each call gives back a copy of its
    own, as the eager function returns a new array each time (see :func:`fresh`)."""

    __slots__ = ("value", "name", "computed")

    def __init__(self, value, name: str):
        self.value = value
        self.name = name
        self.computed = False

    def __repr__(self) -> str:
        return self.name


class Lit:
    """A Python literal written into the code (numbers, None, strings)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        v = self.value
        if type(v) is float and not math.isfinite(v):
            return f"float('{v}')"
        return repr(v)


class TensorOf:
    """A Tensor argument of an Effect: built around the Var's array on each replay."""

    __slots__ = ("var",)

    def __init__(self, var: Var):
        self.var = var

    def __repr__(self) -> str:
        return f"_tensor({self.var.name})"


# The parameters of an Op that has none, shared by all of them (one dict less per Op of
# programs of a million): no pass changes an Op's parameters in place, each replaces them.
NO_PARAMS: dict = {}


class Op:
    __slots__ = ("fn", "args", "params", "out", "group")

    def __init__(self, fn, args, params, out, group=None):
        self.fn = fn  # an adapter.Callee
        self.args = args
        self.params = params
        self.out = out
        self.group = group  # index of the backward step (chain-rule comment) or None


class Write:
    __slots__ = ("target", "value")

    def __init__(self, target, value):
        self.target = target
        self.value = value


class Effect:
    __slots__ = ("fn", "args", "kwargs", "out", "label")

    def __init__(self, fn, args, kwargs, out, label: str):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.out = out
        self.label = label


class SetGrad:
    __slots__ = ("holder", "value", "copy")

    def __init__(self, holder: str, value, copy: bool):
        self.holder = holder  # code that names the Tensor: "S[3]" or "T[0]"
        self.value = value  # Var, Const or None
        self.copy = copy


_ATOMS = (Var, Const, Lit)


def walk(spec) -> list:
    """Every Var/Const/Lit inside a nest of specs (tuples, lists, dicts, slices), in order.

    A list, not a generator: this runs a few times per instruction of graphs of a million
    instructions, and the common case (a flat list of atoms) needs no recursion."""
    t = type(spec)
    if t is Var or t is Const or t is Lit:
        return [spec]
    out: list = []
    _collect(spec, out)
    return out


def _collect(spec, out: list) -> None:
    t = type(spec)
    if t is Var or t is Const or t is Lit:
        out.append(spec)
    elif t is tuple or t is list:
        for s in spec:
            ts = type(s)
            if ts is Var or ts is Const or ts is Lit:
                out.append(s)
            else:
                _collect(s, out)
    elif t is dict:
        for s in spec.values():
            _collect(s, out)
    elif t is TensorOf:
        out.append(spec.var)
    elif t is slice:
        for s in (spec.start, spec.stop, spec.step):
            _collect(s, out)


def specs_of(ins):
    """The specs an instruction reads (a nest for :func:`walk`)."""
    t = type(ins)
    if t is Op:
        return (ins.args, ins.params)
    if t is Write:
        return (ins.target, ins.value)
    if t is Effect:
        return (ins.args, ins.kwargs)
    if t is SetGrad:
        return ins.value
    return ()


def vars_of(ins) -> list:
    """The Vars an instruction reads, in order (repeats kept).

    The common instruction, an Op of plain atoms without parameters, is read without
    recursion: this runs a few times per instruction of graphs of a million of them."""
    if type(ins) is Op and not ins.params:
        out = []
        for s in ins.args:
            ts = type(s)
            if ts is Var:
                out.append(s)
            elif ts is not Const and ts is not Lit:
                out += [v for v in walk(s) if type(v) is Var]
        return out
    return [v for v in walk(specs_of(ins)) if type(v) is Var]


def substitute(spec, rename: dict):
    """``spec`` with every Var numbered in ``rename`` replaced by what it maps to."""
    t = type(spec)
    if t is Var:
        return rename.get(spec.n, spec)
    if t is Const or t is Lit:
        return spec
    if t is TensorOf:
        v = substitute(spec.var, rename)
        return TensorOf(v) if type(v) is Var else v
    if t is tuple or t is list:
        return t([rename.get(s.n, s) if type(s) is Var else substitute(s, rename)
                  for s in spec])
    if t is dict:
        return {k: substitute(v, rename) for k, v in spec.items()}
    if t is slice:
        return slice(substitute(spec.start, rename), substitute(spec.stop, rename),
                     substitute(spec.step, rename))
    return spec


def substitute_in(ins, rename: dict) -> None:
    """Rewrite, in place, what instruction ``ins`` reads through ``rename``."""
    t = type(ins)
    if t is Op:
        if not ins.params:
            for a in ins.args:  # the common Op: atoms only, none of them renamed?
                ta = type(a)
                if (ta is Var and a.n in rename) or (ta is not Var and ta is not Const
                                                     and ta is not Lit):
                    break
            else:
                return
        ins.args = substitute(ins.args, rename)
        if ins.params:
            ins.params = substitute(ins.params, rename)
    elif t is Write:
        ins.target = substitute(ins.target, rename)
        ins.value = substitute(ins.value, rename)
    elif t is Effect:
        ins.args = substitute(ins.args, rename)
        ins.kwargs = substitute(ins.kwargs, rename)
    elif t is SetGrad and ins.value is not None:
        ins.value = substitute(ins.value, rename)


def render(spec, atom=repr) -> str:
    """Python source for a spec; ``atom(x)`` writes each Var, Const and Lit (by default
    its name or literal)."""
    if isinstance(spec, (Var, Const, Lit)):
        return atom(spec)
    if isinstance(spec, TensorOf):
        return f"_tensor({atom(spec.var)})"
    if isinstance(spec, tuple):
        inner = ", ".join(render(s, atom) for s in spec)
        return f"({inner},)" if len(spec) == 1 else f"({inner})"
    if isinstance(spec, list):
        return "[" + ", ".join(render(s, atom) for s in spec) + "]"
    if isinstance(spec, dict):
        return "{" + ", ".join(f"{k!r}: {render(v, atom)}" for k, v in spec.items()) + "}"
    if isinstance(spec, slice):
        return (f"slice({render(spec.start, atom)}, {render(spec.stop, atom)}, "
                f"{render(spec.step, atom)})")
    raise TypeError(f"cannot render {spec!r}")


def is_literal(v) -> bool:
    """Values written inline: exact in their repr, and immutable."""
    t = type(v)
    if t in (bool, int, str) or v is None or v is Ellipsis:
        return True
    return t is float


def fresh(spec) -> bool:
    """Must an output read through ``spec`` be copied on each call? Yes for a folded
    computation's constant (``Const.computed``): the caller may change the array it gets,
    and the next call must not return the changed values."""
    return type(spec) is Const and spec.computed


def literal_key(v) -> tuple:
    """A key equal for two literals only when the code would read them as the same value:
    ``0.0 == -0.0`` (and ``1 == 1.0 == True``) as Python compares them, but they differ,
    so the type is part of the key and a zero is told apart by its repr."""
    return ("l", type(v), v if v else repr(v))


def key_of(spec):
    """A hashable key of a spec, for common-subexpression elimination."""
    if isinstance(spec, Var):
        return ("v", spec.n)
    if isinstance(spec, Const):
        return ("c", spec.name)
    if isinstance(spec, Lit):
        return literal_key(spec.value)
    if isinstance(spec, TensorOf):
        return ("t", spec.var.n)
    if isinstance(spec, (tuple, list)):
        return (type(spec).__name__,) + tuple(key_of(s) for s in spec)
    if isinstance(spec, dict):
        return ("d",) + tuple((k, key_of(v)) for k, v in spec.items())
    if isinstance(spec, slice):
        return ("s", key_of(spec.start), key_of(spec.stop), key_of(spec.step))
    return ("?", id(spec))


def describe(value) -> str:
    """``(3, 4) float32`` for an array, the type name otherwise."""
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    return type(value).__name__


COMPILE_ERROR_HINT = (
    " (run this function eagerly with cr.compile(f, fallback=True), or pass the value "
    "that decides it as a static argument: cr.compile(f, static_argnums=(i,)))"
)
