"""Several paths: when x reaches z more than one way, dz/dx is the sum over the paths.

    z = x·y + sin(x),  y = x²

x reaches z directly (∂z/∂x = y + cos x, y held fixed) and through y (∂z/∂y · dy/dx =
x · 2x).  At x = 1.5: 2.320737202 + 4.5 = 6.820737202, which is 3x² + cos x.

Run:  python examples/two_paths.py
"""

import chainrule as cr

if __name__ == "__main__":
    e = cr.explain("z = x*y + sin(x); y = x**2", x=1.5)
    print(e.to_text())
    print()
    print(e.to_latex())
