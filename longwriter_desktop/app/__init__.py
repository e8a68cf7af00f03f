"""The use-case layer: what a project does, written once for every front end (no Qt).

``backends`` says where a project writes (a local GGUF with its load settings, or an OpenAI-compatible
server) and opens it; ``service`` creates a project with its mode, title and target resolved, runs and
resumes it through the recorder and exports it; ``takes`` prepares the focused runs on one section
(regenerate, write more, a new section) and chooses takes. The CLI (``cli/``) and the window (``ui/``) are
adapters over these modules.
"""
