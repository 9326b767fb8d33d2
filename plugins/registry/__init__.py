"""The `registry` plugin (work in progress)."""
