"""The copy engine: moves images between registries, digest first, each blob once, never a
manifest before its content."""
