"""The GAN pane's layout rules (Textual CSS), kept out of `pane.py`."""

PANE_CSS = """
    GanPane { layout: vertical; }
    #gan-main { height: 1fr; }
    #gan-left { width: 1fr; min-width: 30; }
    #gan-right { width: 38; padding-left: 1; }
    #gan-legend, .gan-title { height: 1; }
    #gan-loss { height: 2fr; }
    #gan-dx, #gan-js { height: 1fr; }
    #gan-status { height: 2; background: $boost; padding: 0 1; }
    #gan-status, #gan-legend, .gan-title { text-wrap: nowrap; text-overflow: ellipsis; }
    GanPane.-images #gan-right { width: 32; }
    """
