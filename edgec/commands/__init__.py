"""One module per `edgec` command: `add_arguments(parser)` and `run(args) -> exit code`.

Modules import their heavy dependencies inside run(), so that starting one command
never pays for another's imports.
"""
