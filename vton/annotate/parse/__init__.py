"""Human-parsing backends (all produce VITON-HD label ids)."""
