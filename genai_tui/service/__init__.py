"""The model-service layer: plain dataclasses and iterators, no Textual.

The panes and the CLI consume the same calls. Modules here import torch only
inside the functions that need it, so importing the service stays cheap.
"""
