"""vton.annotate."""
