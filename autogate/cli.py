"""``autogate <group> ...``: dispatches to the module that owns each subcommand group.

Each group's module has ``main(argv: list[str]) -> int`` with its own argparse parser, so a
group is imported only when it is used: ``autogate mrz read`` never loads Flask, and
``autogate central`` never loads onnxruntime.
"""

from __future__ import annotations

import importlib
import sys

# group -> (module, one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "demo": ("simulators.demo", "run a whole hall on embedded defaults (broker, central, gates, travelers)"),
    "central": ("central.cli", "run the central service (web UI, API, ingest worker) or manage it"),
    "edge": ("edge.cli", "run one gate process"),
    "broker": ("simulators.broker", "run the embedded MQTT broker"),
    "sim": ("simulators.cli", "run simulated gates, travelers and scenarios"),
    "mrz": ("edge.mrz.cli", "read and check machine readable zones (ICAO 9303)"),
    "face": ("edge.face.cli", "face embedding and 1:1 verification"),
    "finger": ("edge.fingerprint.cli", "fingerprint templates and 1:1 verification"),
    "watchlist": ("edge.watchlist.cli", "screen travelers against watchlists; import lists; face photos"),
    "cctv": ("edge.cctv.cli", "run a CCTV face-recognition camera node; register cameras at central"),
    "sop": ("central.workflows.cli", "list and show the SOP workflow definitions (steps, positions, standards)"),
    "enrolment": ("central.enrolments.cli", "import, withdraw and show document enrolments (biometric templates)"),
    "keys": ("protocol.keys_cli", "generate gate and central signing keys"),
    "audit": ("central.audit_cli", "verify the hash chain of central's audit log (audit verify)"),
}


# Subcommands of a group that belong to another module: `autogate watchlist screen` is the gate's
# pure screening engine, `autogate watchlist import` changes central's database. Edge modules may
# not import central's, so the group's own parser cannot list these: `autogate <group> --help`
# adds them from here (tests/cli/test_cli_help.py checks that no command is missing).
SPLIT_GROUPS: dict[tuple[str, str], tuple[str, str]] = {
    ("watchlist", "import"): ("central.watchlists.cli", "import a watchlist CSV into central's database (one new version)"),
    ("watchlist", "publish"): ("central.watchlists.cli", "publish central's current watchlist to the gates"),
    ("watchlist", "versions"): ("central.watchlists.cli", "list central's watchlist versions"),
    ("watchlist", "check-stale"): ("central.watchlists.cli", "alert on gates that run an old watchlist"),
    ("watchlist", "faces"): ("central.cctv.cli", "the face watchlist at central: import, publish, versions"),
    ("cctv", "add-camera"): ("central.cctv.cli", "register a camera node at central (or rotate its key)"),
    ("cctv", "cameras"): ("central.cctv.cli", "list camera nodes and their health"),
    ("sop", "migrate-case"): ("central.cases.migrate_cli", "move an open case to another version of its SOP (audited)"),
}

_HELP = {"-h", "--help"}


def _split_commands_help(group: str) -> str:
    rows = [(sub, text) for (g, sub), (_, text) in SPLIT_GROUPS.items() if g == group]
    width = max(len(sub) for sub, _ in rows)
    lines = ["", "central's commands in this group (run with central's settings, AUTOGATE_CENTRAL_*):"]
    lines += [f"  {sub.ljust(width)}  {text}" for sub, text in rows]
    return "\n".join(lines)


def _usage() -> str:
    width = max(len(name) for name in GROUPS)
    lines = ["usage: autogate <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in GROUPS.items()]
    lines += ["", "Run `autogate <command> --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if args[0] == "--version":
        from autogate import __version__

        print(__version__)
        return 0
    group = args[0]
    if group not in GROUPS:
        print(f"autogate: unknown command {group!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    split = SPLIT_GROUPS.get((group, args[1] if len(args) > 1 else ""))
    module = importlib.import_module(split[0] if split else GROUPS[group][0])
    if any(g == group for g, _ in SPLIT_GROUPS) and (len(args) == 1 or args[1] in _HELP):
        # The group's own help, then the commands other modules own.
        try:
            code = int(module.main(args[1:]) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        print(_split_commands_help(group), file=sys.stdout if len(args) > 1 else sys.stderr)
        return code
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
