"""ccee."""
