"""The Textual app. Imports the service layer, never torch directly."""
