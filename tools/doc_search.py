"""Agent tool: passages from the company's documents, with their sources."""
from agent.router import expansion_names
from agent.service import active_service
from agent.tooling import kb_tool


@kb_tool
def doc_search(query: str, top_k: int = 5) -> dict:
    """Search the company's documents; glossary terms in the query are expanded to their full names.

    Args:
        query: What to search for.
        top_k: How many passages to return (1 to 10).
    """
    if not query.strip():
        return {"found": False, "message": "empty query"}
    service = active_service()
    expansions = expansion_names(service.router.glossary.find(query))
    hits = service.kb.search(query, k=max(1, min(top_k, 10)), expansions=expansions)
    if not hits:
        return {"found": False, "message": "no passage matches this query"}
    return {"found": True, "passages": [
        {"number": n, "text": h.passage.text, "source": h.passage.source, "location": h.passage.location,
         "score": round(h.score, 4)} for n, h in enumerate(hits, 1)]}
