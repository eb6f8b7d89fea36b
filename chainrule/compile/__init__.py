"""cr.compile: trace a function once, then replay it as generated straight-line code.

tracer    runs the function once and records every primitive call (forward and backward)
program   the recorded instructions and values
passes    constant folding, common subexpressions, dead code
codegen   straight-line Python over NumPy (or Python floats for 0-d graphs)
guards    when a trace may be replayed, and why it may not
effects   calls replayed as they are (optimizer steps, random draws, running statistics)
adapter   the one place that reads the primitive registry
compiled  the user-facing Compiled object and its cache
"""

from chainrule.compile.compiled import CacheInfo, Compiled, compile
from chainrule.compile.tracer import TraceError

__all__ = ["compile", "Compiled", "CacheInfo", "TraceError"]
