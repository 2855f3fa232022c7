"""The mutation score from ``mutmut results --all true`` (read on stdin), per module.

A mutant counts as killed when a test failed (``killed``), the run hung (``timeout``)
or the type check refused it; anything else (``survived``, ``no tests``,
``suspicious``, ...) is listed as a survivor. ``make mutation`` pipes into this.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable

KILLED = frozenset({"killed", "timeout", "caught by type check"})
_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+?)\s*$")
_MODULE = re.compile(r"^(?P<module>.+?)\.x[_ǁ]")


def score(lines: Iterable[str]) -> tuple[dict[str, tuple[int, int]], list[tuple[str, str]]]:
    """(killed, total) per module, and the survivors as (mutant, status)."""
    killed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    survivors: list[tuple[str, str]] = []
    for line in lines:
        found = _LINE.match(line)
        if not found:
            continue
        name, status = found["name"], found["status"]
        module_match = _MODULE.match(name)
        module = module_match["module"] if module_match else name.rsplit(".", 1)[0]
        total[module] += 1
        if status in KILLED:
            killed[module] += 1
        else:
            survivors.append((name, status))
    return {module: (killed[module], total[module]) for module in sorted(total)}, survivors


def main() -> int:
    per_module, survivors = score(sys.stdin)
    if not per_module:
        print("no mutation results: run `mutmut run` first")
        return 1
    for name, status in survivors:
        print(f"  {status:>10}  {name}   (mutmut show {name})")
    width = max(len(module) for module in per_module)
    for module, (killed, total) in per_module.items():
        print(f"{module:<{width}}  {killed:>4} / {total:<4} killed  {100 * killed / total:5.1f}%")
    all_killed = sum(killed for killed, _ in per_module.values())
    all_total = sum(total for _, total in per_module.values())
    print(f"{'all':<{width}}  {all_killed:>4} / {all_total:<4} killed  "
          f"{100 * all_killed / all_total:5.1f}%  ({len(survivors)} survived)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
