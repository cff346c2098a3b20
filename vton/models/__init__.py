"""vton.models."""
