"""The `smtp` plugin (work in progress)."""
