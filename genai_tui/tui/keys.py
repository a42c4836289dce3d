"""The app's keyboard model, in one place.

* Keys that work while a text box (`SafeInput`, `SafeTextArea`) has focus are
  F-keys, ctrl/alt chords and Esc: a text box never consumes them.
* Single letters, digits, punctuation, Space, Enter and the arrows belong to
  the text box while it has focus (they type or move the cursor); as pane
  shortcuts they act only when focus is outside every text box. Textual drops
  such bindings from the focus chain (and so from the footer) while a text box
  is focused, so an advertised key never types and typing never fires one.
* Esc leaves a text box (focus moves to the pane's next widget that is not a
  text box); each pane's own "edit" key (usually `/`) goes back.
* F1 lists a pane's keys in two groups, by `works_while_typing`; keys are
  always shown as a person writes them (`key_label`), never Textual's names.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.keys import format_key, key_to_character


def _character(key: str) -> str | None:
    """The character a key name types (``slash`` -> ``/``), else None."""
    char = key_to_character(key)
    if char is None and "+" not in key:
        shown = format_key(key)
        char = shown if len(shown) == 1 else None
    return char if char is not None and char.isprintable() else None

_NAMES = {
    "escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space",
    "backspace": "Backspace", "delete": "Del", "insert": "Ins",
    "home": "Home", "end": "End", "pageup": "PgUp", "pagedown": "PgDn",
    "up": "↑", "down": "↓", "left": "←", "right": "→",
}

# Keys a focused text box keeps for itself (beyond printable characters): the
# cursor and editing keys of Textual's Input and TextArea.
TEXT_BOX_KEYS = frozenset({
    "enter", "space", "backspace", "delete", "home", "end", "left", "right",
    "up", "down", "pageup", "pagedown", "shift+left", "shift+right", "shift+up",
    "shift+down", "shift+home", "shift+end", "ctrl+left", "ctrl+right",
    "ctrl+shift+left", "ctrl+shift+right", "ctrl+a", "ctrl+e", "ctrl+k", "ctrl+u",
    "ctrl+w", "ctrl+d", "ctrl+f", "ctrl+x", "ctrl+c", "ctrl+v", "ctrl+z", "ctrl+y",
    "ctrl+j", "tab", "shift+tab",
})


def _one_label(key: str) -> str:
    *mods, base = key.split("+")
    if base in _NAMES:
        name = _NAMES[base]
    elif base[:1] == "f" and base[1:].isdigit():
        name = base.upper()
    else:
        char = _character(base)
        if char is not None:
            name = char.upper() if mods and len(char) == 1 else char
        else:
            name = base.replace("_", " ")
    return "+".join([*(m.capitalize() for m in mods), name])


def key_label(keys: str) -> str:
    """A binding's key string as a person writes it: ``left_square_bracket``
    is ``[``, ``slash`` is ``/``, ``escape`` is ``Esc``, ``ctrl+q`` is
    ``Ctrl+Q``, and ``plus,equals_sign`` is ``+ / =``."""
    return " / ".join(_one_label(k.strip()) for k in keys.split(",") if k.strip())


def is_typing_key(key: str) -> bool:
    """True when a focused text box takes this key (it types or edits)."""
    key = key.strip()
    if key in TEXT_BOX_KEYS:
        return True
    return _character(key) is not None


def works_while_typing(binding: Binding | str) -> bool:
    """True when every key of the binding still acts with a text box focused."""
    keys = binding.key if isinstance(binding, Binding) else binding
    return all(not is_typing_key(k) for k in keys.split(",") if k.strip())


def pane_key_rows(bindings) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(while typing, outside text boxes): (key label, description) rows of a
    pane's described bindings; a binding's keys that differ in kind are split."""
    typing: list[tuple[str, str]] = []
    outside: list[tuple[str, str]] = []
    for binding in bindings:
        if isinstance(binding, Binding):
            keys, desc = binding.key, binding.description
        else:
            keys, desc = binding[0], binding[2] if len(binding) > 2 else ""
        if not desc:
            continue
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        anywhere = [k for k in parts if not is_typing_key(k)]
        local = [k for k in parts if is_typing_key(k)]
        if anywhere:
            typing.append((key_label(",".join(anywhere)), desc))
        if local:
            outside.append((key_label(",".join(local)), desc))
    return typing, outside
