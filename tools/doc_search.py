"""Agent tool: passages from the company's documents, with their sources."""
from agent.answer.router import RELEVANCE_THRESHOLD, expansion_names, passage_relevance
from agent.answer.tooling import kb_tool


@kb_tool
def doc_search(query: str, top_k: int = 5, *, service) -> dict:
    """Search the company's documents; glossary terms in the query are expanded to their full names.

    Args:
        query: What to search for.
        top_k: How many passages to return (1 to 10).
    """
    if not query.strip():
        return {"found": False, "message": "empty query"}
    mentions = service.router.glossary.find(query)
    hits = service.kb.search(query, k=max(1, min(top_k, 10)), expansions=expansion_names(mentions))
    # Search always ranks something; only passages the router would answer from count as found.
    hits = [h for h in hits if passage_relevance(query, mentions, h.passage.text) >= RELEVANCE_THRESHOLD]
    if not hits:
        return {"found": False, "message": "no passage is relevant to this query"}
    return {"found": True, "passages": [
        {"number": n, "text": h.passage.text, "source": h.passage.source, "location": h.passage.location,
         "score": round(h.score, 4)} for n, h in enumerate(hits, 1)]}
