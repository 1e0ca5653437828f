"""services plugin (being built)."""
