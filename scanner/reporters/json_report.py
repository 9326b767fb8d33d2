"""Reporter (work in progress)."""
