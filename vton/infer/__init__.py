"""vton.infer."""
