"""What the assistant remembers between questions, in one database (database.py): an SQLite file in the data
folder by default (never in the repository), or PostgreSQL named by KB_DATABASE_URL for several replicas.
It holds conversations per user (conversations.py) and the question log with its feedback and the owners'
fixes (question_log.py), which knowledge owners review and fix from (review.py) and the FAQ decision learns from."""
