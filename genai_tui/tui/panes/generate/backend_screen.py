"""The generate pane's back-end dialog: a local model, or a server and one of its models.

With an empty URL the dialog lists the local models (`service.local_models`:
the bundled one, then model folders saved in the app's export folder or the
working directory, newest first); picking one fills the model box. With a URL,
Ctrl+L lists the server's models. Returns a `BackendSpec` (the pane loads it
in a worker and keeps the old back end if that fails). The API key is typed
into a password box, is never shown again (a kept key reads "kept"), and never
reaches a message: errors come from the service, which scrubs it.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from genai_tui.service.backend import BackendSpec
from genai_tui.textsafe import escape_controls
from genai_tui.tui.textbox import SafeInput

APIS = (("completions (/v1/completions)", "completions"),
        ("chat (/v1/chat/completions)", "chat"))


class BackendScreen(ModalScreen[BackendSpec | None]):
    """Pick where the generate pane generates."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "connect", "Connect", show=False),
        Binding("ctrl+l", "list_models", "List the server's models", show=False),
    ]
    DEFAULT_CSS = """
    BackendScreen { align: center middle; }
    BackendScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    BackendScreen Grid {
        grid-size: 2; grid-columns: 11 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto;
    }
    BackendScreen Label { width: 100%; text-align: right; color: $text-muted; }
    BackendScreen #be-help { color: $text-muted; height: auto; }
    BackendScreen #be-models {
        height: auto; max-height: 6; margin-top: 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    BackendScreen #be-status { height: auto; }
    BackendScreen #be-buttons { height: 1; align-horizontal: right; margin-top: 1; }
    BackendScreen #be-buttons Button { margin-left: 1; }
    """

    class Listed(Message):
        """A listing: ``names`` (what the model box takes), ``labels`` (what the
        list shows; escaped), or None and ``error``."""

        def __init__(self, serial: int, names: list[str] | None, error: str = "",
                     labels: list[str] | None = None, local: bool = False) -> None:
            super().__init__()
            self.serial = serial
            self.names = names
            self.error = error
            self.labels = labels
            self.local = local

    def __init__(self, current: BackendSpec, folders: list[Path] | None = None) -> None:
        """``folders``: where saved model folders are looked for (default: the
        working directory)."""
        super().__init__()
        self.current = current
        self.folders = list(folders) if folders is not None else [Path.cwd()]
        self._kept_key = current.api_key
        self._names: list[str] = []
        self._serial = 0

    def compose(self) -> ComposeResult:
        spec = self.current
        remote = not spec.local
        with Vertical():
            yield Static(Text("Back end", style="bold"))
            yield Static("Empty URL: a local model (pick one below, or type a model folder; "
                         "empty: the bundled one). A URL: any OpenAI-compatible server "
                         "(llama.cpp, vLLM, Ollama, genai-tui serve), e.g. "
                         "http://127.0.0.1:8080/v1; \"remote\" takes $OPENAI_BASE_URL.",
                         id="be-help")
            with Grid():
                yield Label("server URL")
                yield SafeInput((spec.url or "") if remote else "", compact=True, id="be-url",
                                placeholder="empty: the local model")
                yield Label("model")
                yield SafeInput(spec.model or "", compact=True, id="be-model",
                                placeholder="local: a folder · server: its model id "
                                "(empty: its only one)")
                yield Label("API key")
                yield SafeInput("", password=True, compact=True, id="be-key",
                                placeholder="kept (type to replace)" if self._kept_key
                                else "empty: $OPENAI_API_KEY, or none")
                yield Label("API")
                yield Select(APIS, value=spec.api, allow_blank=False, compact=True, id="be-api")
                yield Label("")
                yield Checkbox("extra knobs: top-k, min-p, typical, repeat (not Ollama)",
                               spec.extras, compact=True, id="be-extras")
            yield OptionList(id="be-models", markup=False)  # names are data
            yield Static("", id="be-status")
            with Horizontal(id="be-buttons"):
                yield Button("Connect", variant="primary", compact=True, id="be-connect")
                yield Button("List models ^L", compact=True, id="be-list")
                yield Button("Cancel", compact=True, id="be-cancel")

    def on_mount(self) -> None:
        self.query_one("#be-models", OptionList).display = False
        self.query_one("#be-url", Input).focus()
        if self.current.local:  # shown, not focused: keys typed at once go to the URL box
            self._list_local(self._next_serial(), self.folders)

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    # reading the form -------------------------------------------------------

    def _value(self, widget_id: str) -> str:
        return self.query_one(widget_id, Input).value.strip()

    def read(self) -> BackendSpec:
        """The spec the form describes (nothing is checked here: the pane's loader
        says what is wrong, with the service's scrubbed message)."""
        url = self._value("#be-url") or None
        typed_key = self.query_one("#be-key", Input).value.strip()
        key = typed_key or (self._kept_key if url is not None else None)
        api = self.query_one("#be-api", Select).value
        return BackendSpec(url=url, model=self._value("#be-model") or None,
                           api_key=key or None, api=str(api),
                           extras=self.query_one("#be-extras", Checkbox).value)

    def _status(self, text: str, error: bool = False) -> None:
        self.query_one("#be-status", Static).update(
            Text(escape_controls(text, keep_newlines=False),
                 style="bold red" if error else "grey70"))

    # actions ------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_connect(self) -> None:
        self.dismiss(self.read())

    def action_list_models(self) -> None:
        spec = self.read()
        serial = self._next_serial()
        self._focus_list = True
        if spec.local:
            self._list_local(serial, self.folders)
            return
        self._status("asking the server for its models…")
        self._list(serial, spec)

    _focus_list = False
    """Move focus to the list when it arrives (asked for by Ctrl+L, not on opening)."""

    @work(thread=True, exclusive=True, group="backend-list", exit_on_error=False)
    def _list(self, serial: int, spec: BackendSpec) -> None:
        from genai_tui.errors import UserError
        from genai_tui.service import remote

        try:
            names = remote.list_models(spec.server_config())
        except UserError as exc:
            self.post_message(self.Listed(serial, None, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, the app stays up
            self.post_message(self.Listed(serial, None, f"{type(exc).__name__}"))
            return
        self.post_message(self.Listed(serial, names))

    @work(thread=True, exclusive=True, group="backend-list", exit_on_error=False)
    def _list_local(self, serial: int, folders: list[Path]) -> None:
        from genai_tui.service.local_models import local_models

        try:
            models = local_models(folders)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, the app stays up
            self.post_message(self.Listed(serial, None, f"{type(exc).__name__}", local=True))
            return
        self.post_message(self.Listed(serial, ["" if m.path is None else str(m.path)
                                               for m in models],
                                      labels=[m.label for m in models], local=True))

    def on_backend_screen_listed(self, message: Listed) -> None:
        if message.serial != self._serial:
            return  # a newer listing was asked for
        options = self.query_one("#be-models", OptionList)
        focus, self._focus_list = self._focus_list, False
        if message.names is None:
            options.display = False
            self._status(message.error, error=True)
            return
        names = message.names[:200]
        labels = message.labels or [escape_controls(n, False) for n in names]
        options.clear_options()
        options.add_options([Option(Text(label, no_wrap=True, overflow="ellipsis"), id=str(i))
                             for i, label in enumerate(labels[:200])])
        self._names = names
        options.display = bool(names)
        count = len(names)
        where = "local " if message.local else ""
        self._status(f"{count} {where}model{'s' if count != 1 else ''}: pick one (↑↓ Enter), "
                     "then Connect" if count else
                     ("no local models found" if message.local else
                      "the server lists no models"), not count)
        if names:
            current = self._value("#be-model")
            options.highlighted = names.index(current) if current in names else 0
            if focus:
                options.focus()

    # events ---------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        name = self._names[int(event.option.id or 0)]
        model = self.query_one("#be-model", Input)
        model.value = name
        model.focus()
        self._status(f"model {name or 'bundled'}: Enter connects")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = {"be-connect": self.action_connect, "be-list": self.action_list_models,
                  "be-cancel": self.action_cancel}.get(event.button.id or "")
        if action is not None:
            action()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_connect()
