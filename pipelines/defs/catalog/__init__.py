"""Typed entity tables (`eventos_<entidade>`) from the declarative metadata registry."""
