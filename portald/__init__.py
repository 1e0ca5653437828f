"""portald: a pluggable device-management daemon serving the Platform Portal REST API."""

__version__ = "1.0.0"
