"""Errors the user can fix. The CLI prints them as one line and exits 2; panes
show them in a notification and carry on."""


class UserError(Exception):
    """Bad input from the user: an unknown name, an unreadable file, a value out of range.

    Messages quote what the user typed, a file's name or a server's answer, so
    the message is made safe once, here: control characters and escape
    sequences become visible symbols (`textsafe.escape_controls`), whichever
    terminal line or pane label shows it later.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            from genai_tui.textsafe import escape_controls

            args = (escape_controls(args[0]), *args[1:])
        super().__init__(*args)


class AssetError(UserError):
    """A bundled or user-named model/tokenizer file is missing or corrupt."""


def require(checks: list[tuple[bool, str]]) -> None:
    """Raise a `UserError` with the message of the first failed ``(ok, message)`` check
    (settings validation: every check written as one line of a list)."""
    for ok, message in checks:
        if not ok:
            raise UserError(message)
