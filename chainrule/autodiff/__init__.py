"""The engine: primitives, the recorded graph, reverse and forward sweeps, transforms."""
