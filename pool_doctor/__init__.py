"""pool-doctor: find why pooled PostgreSQL connections die while idle, and prove the fix."""

__version__ = "0.1.0"
