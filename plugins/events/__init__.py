"""events plugin (being built)."""
