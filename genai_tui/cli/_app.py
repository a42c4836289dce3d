"""The Typer application object and the error policy shared by every command.

Command modules import torch, models and the Textual app only inside their
command functions, so `genai-tui --help` stays fast (a test checks
`sys.modules`).
"""

from __future__ import annotations

import sys
from typing import Any

import click
import typer
from typer.main import get_command

from genai_tui.cli import options as opt
from genai_tui.errors import UserError

try:  # Typer >= 0.2x vendors Click as typer._click, with its own exception classes.
    from typer._click import exceptions as _vendored

    _USAGE_ERRORS: tuple[type[Exception], ...] = (click.UsageError, _vendored.UsageError)
    _NO_ARGS_IS_HELP: tuple[type[Exception], ...] = (
        click.exceptions.NoArgsIsHelpError, _vendored.NoArgsIsHelpError)
    _CLICK_ERRORS: tuple[type[Exception], ...] = (click.ClickException, _vendored.ClickException)
except ImportError:  # older Typer raises the click package's own
    _USAGE_ERRORS, _CLICK_ERRORS = (click.UsageError,), (click.ClickException,)
    _NO_ARGS_IS_HELP = (click.exceptions.NoArgsIsHelpError,)


class GenaiTyper(typer.Typer):
    """A Typer app whose user errors print one line on stderr and exit 2.

    Click's usage errors (unknown option, bad value) and our `UserError` both
    become ``genai-tui: error: <message>``; no traceback, no usage box.
    """

    def __call__(self, args: list[str] | None = None, prog_name: str = "genai-tui") -> Any:
        command = get_command(self)
        try:
            command.main(args=args, prog_name=prog_name, standalone_mode=False)
        except _NO_ARGS_IS_HELP as e:
            # A group run without its subcommand: its help, laid out as --help lays it out.
            print(e.ctx.get_help() if e.ctx is not None else e.format_message(), file=sys.stderr)
            sys.exit(2)
        except _USAGE_ERRORS as e:
            hint = ""
            if e.ctx is not None and e.ctx.command_path:
                hint = f" (see '{e.ctx.command_path} --help')"
            _fail(e.format_message() + hint)
        except _CLICK_ERRORS as e:
            _fail(e.format_message())
        except UserError as e:
            _fail(str(e), getattr(e, "exit_code", 2))
        except (click.exceptions.Abort, typer.Abort):
            print("genai-tui: aborted", file=sys.stderr)
            sys.exit(130)
        except KeyboardInterrupt:
            print("genai-tui: interrupted", file=sys.stderr)
            sys.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except (click.exceptions.Exit, typer.Exit) as e:
            sys.exit(e.exit_code)
        sys.exit(0)


def _fail(message: str, code: int = 2) -> None:
    """One line on stderr; exit 2 (the user's input) or the error's own code (a
    server's fault is 1)."""
    from genai_tui.textsafe import escape_controls

    first = " ".join(message.strip().splitlines()) or "invalid input"
    print(f"genai-tui: error: {escape_controls(first, keep_newlines=False)}", file=sys.stderr)
    sys.exit(code)


app = GenaiTyper(
    name="genai-tui",
    help="See how generative AI works: tokenizers, transformers, VAEs, diffusion and GANs, "
    "running live in your terminal. With no command, opens the app.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
train_app = typer.Typer(
    help="Train the models genai-tui ships (tokenizer, language model, ...).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(train_app, name="train")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("genai-tui")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        print(f"genai-tui {number}")
        raise typer.Exit(0)


@app.callback()
def _main(
    ctx: typer.Context,
    _version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                  help="Print the version and exit."),
    ascii: bool = opt.ascii_option("Draw with printable ASCII only."),
    fps: float | None = opt.fps_option("Cap repaints per second (default 60, 20 over SSH)."),
    backend: str = opt.backend_option(
        "local", "Where the Generate pane generates: 'local' (our model), a server's URL "
        "(OpenAI-compatible: llama.cpp, vLLM, Ollama, genai-tui serve) or 'remote' "
        "($OPENAI_BASE_URL). F9 in the pane changes it."),
    model: str | None = opt.model_option(
        "Local: a model folder. Remote: the server's model name (default: its only model)."),
    api_key: str | None = opt.api_key_option(),
    api: str = opt.api_option(),
    extras: bool = opt.extras_option(),
) -> None:
    if ctx.invoked_subcommand is None:
        from genai_tui.errors import UserError
        from genai_tui.tui.app import GenaiApp, run_in_terminal

        if api not in ("completions", "chat"):
            raise UserError(f"--api must be completions or chat, got {api!r}")
        spec = None
        if backend.strip().lower() != "local" or model or api_key is not None:
            from genai_tui.service.backend import BackendSpec

            spec = BackendSpec(backend, model, api_key, api, extras)
            if spec.local and api_key is not None:
                raise UserError("--api-key is for a remote --backend")
        run_in_terminal(GenaiApp(ascii=ascii, fps=fps, backend=spec))
