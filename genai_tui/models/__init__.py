"""Neural networks in plain PyTorch (no Textual, no service code)."""
