"""DVC stages: one thin module each (read params, call vton, write outputs)."""
