"""vton.qa."""
