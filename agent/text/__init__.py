"""Text helpers every stage shares: normalising and folding, content units, synonyms, stop words."""
