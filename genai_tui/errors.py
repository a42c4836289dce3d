"""Errors the user can fix. The CLI prints them as one line and exits 2; panes
show them in a notification and carry on."""


class UserError(Exception):
    """Bad input from the user: an unknown name, an unreadable file, a value out of range."""


class AssetError(UserError):
    """A bundled or user-named model/tokenizer file is missing or corrupt."""
