"""`python -m agent explain "问题"`: each stage of answering one question, so anyone can follow the flow:
what was understood, the candidates weighed with their chances (glossary terms, FAQ entries, tools, passages),
the decision with its reason, and the answer given. It reads the router as it answers (agent.answer.hit_test)
and logs nothing."""
from __future__ import annotations

from agent.answer.hit_test import hit_test
from agent.records import Answer

FAQ_SHOWN = 3
PASSAGES_SHOWN = 3


def explanation(service, question: str) -> dict:
    """The stages as one JSON-ready object."""
    router = service.router
    test = hit_test(router, question)
    understanding, decision = test.understanding, test.decision
    tool = router.tools.best(understanding, router.background)
    answer: Answer = service.ask(question)
    return {
        "question": test.question,
        "understanding": {
            "terms": [{"text": m.text.strip(), "names": [t.abbreviation or t.english or t.chinese for t in m.terms]}
                      for m in understanding.mentions],
            "unknown_abbreviations": [u.text for u in understanding.unknown_terms],
            "asks_only_a_meaning": round(understanding.asks_meaning, 3),
            "english_words_read_as": understanding.translations,
            "by_meaning": test.by_meaning,
        },
        "candidates": {
            "terms": [{"term": c.term.abbreviation or c.term.english or c.term.chinese, "found_by": c.found_by,
                       "score": c.score} for c in test.terms],
            "faq": [{"question": c.entry.question, "matched": c.matched_question, "chance": round(c.probability, 3)}
                    for c in test.faq[:FAQ_SHOWN]],
            "tool": {"name": tool.tool.name, "example": tool.matched_question, "chance": tool.probability}
            if tool is not None else None,
            "passages": [{"source": h.passage.source, "location": h.passage.location, "fused": round(h.score, 3),
                          "text": " ".join(h.passage.text.split())[:80]} for h in test.passages[:PASSAGES_SHOWN]],
            "passages_answer_chance": test.passage_chance,
        },
        "decision": {"route": decision.route, "abstained": decision.abstained, "tentative": decision.tentative,
                     "confidence": decision.confidence, "reason": decision.reason},
        "answer": {"text": answer.text, "route": answer.route, "llm": answer.llm, "latency_ms": answer.latency_ms},
    }


def explanation_text(found: dict) -> str:
    """The stages as numbered plain text."""
    seen, candidates, decision, answer = (found["understanding"], found["candidates"], found["decision"],
                                          found["answer"])
    lines = [f"question: {found['question']}", "", "1. understood"]
    lines += [f"   term {t['text']} -> {', '.join(t['names'])}" for t in seen["terms"]] or ["   no glossary term named"]
    if seen["unknown_abbreviations"]:
        lines.append(f"   abbreviations the glossary lacks: {', '.join(seen['unknown_abbreviations'])}")
    lines.append(f"   asks only a meaning: {seen['asks_only_a_meaning']:.2f}; compared by meaning: {seen['by_meaning']}")
    for word, chinese in seen["english_words_read_as"].items():
        lines.append(f"   English {word} read as {'、'.join(chinese)}")
    lines += ["", "2. candidates"]
    lines += [f"   term {c['term']} by {c['found_by']} ({c['score']:.3f})" for c in candidates["terms"]]
    lines += [f"   FAQ {c['question']} (matched {c['matched']}): chance {c['chance']:.3f}" for c in candidates["faq"]]
    if candidates["tool"]:
        tool = candidates["tool"]
        lines.append(f"   tool {tool['name']} (example {tool['example']}): chance {tool['chance']:.3f}")
    lines += [f"   passage {p['source']} {p['location']}: fused {p['fused']:.3f} · {p['text']}"
              for p in candidates["passages"]]
    lines.append(f"   chance the passages answer: {candidates['passages_answer_chance']:.3f}")
    flags = [flag for flag in ("abstained", "tentative") if decision[flag]]
    lines += ["", f"3. decided: {decision['route']}{' (' + ', '.join(flags) + ')' if flags else ''}, "
                  f"confidence {decision['confidence']:.3f}", f"   {decision['reason']}",
              "", f"4. answered ({answer['route']}, LLM: {answer['llm']}, {answer['latency_ms']:.0f} ms):"]
    lines += [f"   {line}" for line in answer["text"].splitlines()]
    return "\n".join(lines)
