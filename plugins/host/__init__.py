"""host plugin (being built)."""
