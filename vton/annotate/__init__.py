"""Annotation: the runner and one module per annotation kind (pose, parse, densepose)."""
