from genai_tui.cli import app

app()
