"""Stage 2, index: build, publish and load index generations (lexical, vectors, stores) from the records."""
