"""Print the fidelity score per service: ``python -m tests.fidelity.score [--cases]``."""

from __future__ import annotations

import os
import sys

from tests.fidelity.runner import REGION, Fidelity, score


def main(argv: list[str]) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from analytics_orchestration.testing import OfflineAws

    with OfflineAws(region=REGION) as aws:
        results = Fidelity(aws).run_all()
    print(f"{'service':34} correct refused  total")
    for service, correct, refused, total in score(results):
        print(f"{service:34} {correct:7} {refused:7} {total:6}")
    if "--cases" in argv:
        for service, outcomes in results.items():
            for case_id, outcome in outcomes.items():
                if outcome != "correct":
                    print(f"  {outcome:8} {service}: {case_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
