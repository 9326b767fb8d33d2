"""Built-in reporters. Each module is a plugin registered through the
``policyscan`` entry-point group; none is special to the core."""
