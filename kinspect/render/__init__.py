"""Renderers: pure functions from chains/results to a rich renderable or a string."""
