"""The chain rule, shown: how fast does the air pressure change for a falling skydiver?

A skydiver falls from 4000 m. After t seconds she has fallen g(t) = 0.5·9.8·t² metres,
her height is h = 4000 − g, and the air pressure there is P(h) = 101325·e^(−0.0001·h) Pa.
By the chain rule dP/dt = dP/dh · dh/dg · dg/dt; at t = 10 s that is 699.0453078 Pa/s.

(A widely copied version of this example writes h = 400 − g and g′(t) = −9.8t: from 4000 m
the height is 4000 − g, and the fall rate is g′ = +9.8t while h′ = −9.8t.)

Run:  python examples/skydiver.py
"""

import chainrule as cr


def pressure(t):
    g = cr.named(0.5 * 9.8 * t**2, "g")  # distance fallen, m
    h = cr.named(4000 - g, "h")  # height, m
    return cr.named(101325 * cr.exp(-0.0001 * h), "P")  # air pressure, Pa


if __name__ == "__main__":
    explanation = cr.explain(pressure, wrt="t", t=10)
    print(explanation.to_text())
    print()
    # The same, written as text in chainrule's safe expression language:
    same = cr.explain("P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2", wrt="t", t=10)
    print(f"dP/dt at t = 10 s: {same.derivative:.7f} Pa/s")
