"""processes plugin (being built)."""
