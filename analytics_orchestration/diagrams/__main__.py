"""``python -m analytics_orchestration.diagrams <cdk.out or template.json> --out <dir>``.

Writes ``<StackName>.svg`` (the architecture) and ``<StackName>.<StateMachineLogicalId>.svg``
(each workflow) per stack, in each ``--format`` given (``svg`` by default, ``png``), and
prints each file written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analytics_orchestration.diagrams import FORMATS, render_stack
from analytics_orchestration.diagrams.render import RendererUnavailableError
from analytics_orchestration.diagrams.source import DiagramSourceError


def parser() -> argparse.ArgumentParser:
    """The command line's arguments (also checked against the README's examples)."""
    parser = argparse.ArgumentParser(
        prog="python -m analytics_orchestration.diagrams",
        description="Draw the architecture and workflow diagrams of a synthesized CDK app.")
    parser.add_argument("source", help="a cdk.out directory or a *.template.json file")
    parser.add_argument("--out", required=True, help="the directory to write the diagrams to")
    parser.add_argument("--format", action="append", choices=FORMATS, dest="formats",
                        help="svg (default) or png; repeat for both")
    parser.add_argument("--no-workflows", action="store_true",
                        help="only the architecture diagram of each stack")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 on success, 2 when the source or the renderer is missing."""
    args = parser().parse_args(argv)
    try:
        written = render_stack(args.source, args.out, formats=args.formats or ("svg",),
                               workflows=not args.no_workflows)
    except (DiagramSourceError, RendererUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
