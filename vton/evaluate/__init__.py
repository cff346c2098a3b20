"""vton.evaluate."""
