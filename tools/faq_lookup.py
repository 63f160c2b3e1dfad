"""Agent tool: the FAQ entries that answer a question, as the router judges them, each with its chance."""
from agent.answer.router import FACT
from agent.answer.tooling import kb_tool


@kb_tool
def faq_lookup(question: str, top_k: int = 3, *, service) -> dict:
    """Find stored FAQ answers for a question.

    Args:
        question: The question in the employee's words.
        top_k: How many entries to return (1 to 10).
    """
    if not question.strip():
        return {"found": False, "message": "empty question"}
    router = service.router
    candidates = router.faq_candidates(router.understand(question))
    # The router's own bar for giving a stored answer, and the chance it gives each entry.
    entries = [c for c in candidates if c.probability >= FACT][:max(1, min(top_k, 10))]
    if not entries:
        return {"found": False, "message": "no FAQ entry matches this question"}
    return {"found": True, "entries": [
        {"question": c.entry.question, "answer": c.entry.answer, "chance": round(c.probability, 3),
         "source": c.entry.source, "location": c.entry.location} for c in entries]}
