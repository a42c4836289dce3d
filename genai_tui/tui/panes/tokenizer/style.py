"""The tokenizer pane's layout rules (Textual CSS), kept out of `pane.py`."""

PANE_CSS = """
    TokenizerPane { layout: vertical; }
    #tok-toolbar { height: 1; margin-bottom: 0; }
    #tok-toolbar Static { width: auto; padding: 0 1; color: $text-muted; }
    #tok-toolbar Select { width: 24; }
    #tok-toolbar SelectOverlay { width: 30; background: $panel; }
    #tok-toolbar Checkbox { margin: 0 1; }
    #tok-list { min-width: 3; margin-left: 1; }
    #tok-select-b { display: none; }
    TokenizerPane.-compare #tok-select-b { display: block; }
    #tok-text { height: 1fr; min-height: 4; max-height: 12; }
    #tok-viewbar { height: 1; }
    #tok-viewbar Button { margin-right: 1; min-width: 10; }
    #tok-viewbar Button.-current { text-style: bold reverse; }
    #tok-hint { width: 1fr; color: $text-muted; text-align: right; padding-right: 1; }
    #tok-views { height: 2fr; }
    #tok-view-tokens { height: 1fr; }
    #tok-columns { height: 1fr; }
    .tok-col { width: 1fr; }
    #tok-col-b { display: none; border-left: vkey $primary 50%; }
    TokenizerPane.-compare #tok-col-b { display: block; }
    #tok-detail { height: 3; padding: 0 1; background: $boost; }
    """
