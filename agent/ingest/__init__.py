"""Stage 1, ingest: read knowledge files into records (terms, FAQ entries, passages) and watch the folder."""
