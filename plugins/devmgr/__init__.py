"""devmgr plugin (being built)."""
