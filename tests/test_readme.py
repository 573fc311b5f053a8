"""The README's threat model points at tests: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_the_readme_names_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    current: Path | None = None
    for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::)?(test_\w+)?", text):
        if path:
            current = ROOT / path
            if not current.is_file():
                missing.append(path)
                continue
        if not (name and current is not None and current.is_file()):
            continue
        if not re.search(rf"^\s*def {name}\(", current.read_text(encoding="utf-8"), re.M):
            missing.append(f"{current.relative_to(ROOT)}::{name}")
    assert not missing, missing
