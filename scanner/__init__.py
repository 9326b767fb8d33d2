"""policyscan core: policy loading, the plugin host, the evaluator and the CLI.

Built-in collectors live in the sibling package :mod:`plugins`; reporters live in
:mod:`scanner.reporters`. Both are found through the ``policyscan`` entry-point
group, exactly like third-party plugins.
"""

__version__ = "1.0.0"
