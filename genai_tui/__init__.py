"""genai-tui: see how generative AI works, with real small models, in a terminal."""

__version__ = "0.1.0"
