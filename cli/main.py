"""The ``triage`` command: the product's one command line.

    triage rules check|test|explain FILE...   pathway files, for clinic staff (cli.rules)
    triage run|serve|worker|beat|migrate|publish-rules|seed|token
                                              the service (cli.service)

Every command is configured by the environment (``DATABASE_URL``, ``REDIS_URL``, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import rules, service
from triage.problems import default_lang

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    # --lang works before or after the sub-command: staff type it where it feels natural.
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=argparse.SUPPRESS,
        help="language of problem messages (default from TRIAGE_LANG or LANG)",
    )
    parser = argparse.ArgumentParser(
        prog="triage",
        description="Needs-driven follow-up: pathway files and the triage service.",
        parents=[lang],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rules.register(commands, lang)
    service.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not hasattr(args, "lang"):
        args.lang = default_lang()
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
