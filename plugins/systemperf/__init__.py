"""systemperf plugin (being built)."""
