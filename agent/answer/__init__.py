"""Stage 3, answer: understand a question, gather candidates, decide the route and write the answer."""
