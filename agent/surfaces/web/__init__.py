"""The web app's parts: labels in each language, answers rendered as safe text, knowledge tables,
uploads and access rules, and the Gradio layout that wires them to the KnowledgeService."""
