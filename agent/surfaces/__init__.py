"""Stage 4, surfaces: the command line, the HTTP API, the web app and evaluation, over the answer stage."""
