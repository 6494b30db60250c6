"""The README's "add your own estimator" example runs as written and passes the public contract check."""
import re
from pathlib import Path

import chargen_theory as ct

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_estimator_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "ct.velocity.register(" in b)
    name = re.search(r'register\("(\w+)"', example).group(1)
    try:
        exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - the project's own README
        assert name in ct.velocity.names()
    finally:
        ct.velocity._USER.pop(name, None)
