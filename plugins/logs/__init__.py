"""The `logs` plugin (work in progress)."""
