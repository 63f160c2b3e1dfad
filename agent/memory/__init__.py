"""What the assistant remembers between questions, in one SQLite file in the data folder (never in the
repository): conversations per user (conversations.py) and the question log with its feedback
(question_log.py), which knowledge owners review and fix from."""
