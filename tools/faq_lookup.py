"""Agent tool: the FAQ entries that match a question, with their scores."""
from agent.answer.router import FAQ_THRESHOLD
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
    matches = service.router.faq.match(question, k=max(1, min(top_k, 10)))
    matches = [m for m in matches if m.score >= FAQ_THRESHOLD]  # the router's bar for "this FAQ answers it"
    if not matches:
        return {"found": False, "message": "no FAQ entry matches this question"}
    return {"found": True, "entries": [
        {"question": m.entry.question, "answer": m.entry.answer, "score": round(m.score, 3),
         "source": m.entry.source, "location": m.entry.location} for m in matches]}
