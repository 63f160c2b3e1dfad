"""Agent tool: what a company abbreviation or term means, from the glossary."""
from agent.answers import term_line
from agent.service import active_service
from agent.tooling import kb_tool


@kb_tool
def abbreviation_lookup(term: str) -> dict:
    """Look up a company abbreviation, English full name or Chinese name in the glossary.

    Args:
        term: The abbreviation or name to look up, for example "AM" or "客户经理".
    """
    term = term.strip()
    if not term:
        return {"found": False, "message": "empty term"}
    mentions = active_service().router.glossary.find(term)
    meanings = [t for m in mentions for t in m.terms]
    if not meanings:
        return {"found": False, "term": term, "message": f"'{term}' is not in the glossary"}
    return {"found": True, "term": term, "meanings": [
        {"abbreviation": t.abbreviation, "english": t.english, "chinese": t.chinese, "text": term_line(t),
         "source": t.source, "location": t.location} for t in dict.fromkeys(meanings)]}
