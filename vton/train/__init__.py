"""vton.train."""
