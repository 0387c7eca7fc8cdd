"""axe-core in a Playwright page: the serious and critical violations, one line each."""

from __future__ import annotations

from typing import Any

SEVERE = {"serious", "critical"}


def serious_problems(page: Any, axe_source: str, label: str) -> list[str]:
    """Run axe on the page as it stands (the context needs bypass_csp=True to inject it)."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document)")
    assert len(result["passes"]) > 10, f"axe did not really check {label}"
    problems = []
    for violation in result["violations"]:
        if violation["impact"] in SEVERE:
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{label}: {violation['id']} ({violation['impact']}) {targets}")
    return problems
