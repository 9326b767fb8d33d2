"""Built-in collector plugins of policyscan: ``registry``, ``smtp`` and ``logs``.

Each subpackage is registered through the ``policyscan`` entry-point group in
``pyproject.toml``, exactly like a third-party plugin.
"""
