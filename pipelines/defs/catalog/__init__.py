"""Typed entity tables (`eventos_<entidade>`) typed by the domain model (`ccee.domain.metadata`)."""
