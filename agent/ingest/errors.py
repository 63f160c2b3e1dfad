"""Errors a knowledge owner can act on."""


class KnowledgeFileError(Exception):
    """A file could not be read; the message says why in words a knowledge owner understands."""
