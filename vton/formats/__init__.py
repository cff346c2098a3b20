"""vton.formats."""
