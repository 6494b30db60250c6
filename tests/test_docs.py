"""Documentation references: every Markdown file named in a text file of the repository exists in it, and every
numbered reference into docs/theory.md (``docs/theory.md section 3``, ``docs/theory.md 1.5``, ``... section 1,
item 6``) names a heading that exists there."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THEORY = Path("docs") / "theory.md"

# A path ending in .md that is not the tail of a longer path or URL; an optional leading "/" marks an absolute path.
# Group 1 is a code-quoted placeholder folder in front of it, as in ``out_dir``/report.md.
_MD_REF = re.compile(r"(?<![\w./:-])(`{1,2}\w+`{1,2}/)?(/?(?:[\w.-]+/)*[\w-][\w.-]*\.md)(?![\w-])")
# "theory.md" then an optional keyword, a section number N or N.M, and an optional ", item K" (= N.K).
_SECTION_REF = re.compile(r"theory\.md,?\s+(?:section\s+|sec\.\s*|§\s*)?(\d+)(?:\.(\d+))?(?:,\s*item\s+(\d+))?")
_HEADING = re.compile(r"#{2,3}\s+(\d+)(?:\.(\d+))?\.?\s")


def repo_files(root: Path) -> list[Path]:
    """The repository's files: tracked plus untracked-but-not-ignored (git), else every file under ``root`` outside
    hidden, cache and egg-info directories; never a file inside a virtual environment (a folder holding
    pyvenv.cfg), whatever its name, since a user's venv in the clone is not part of the repository."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout.decode()
        files = {root / name for name in out.split("\0") if name and (root / name).is_file()}
    except (OSError, subprocess.CalledProcessError):
        files = {p for p in root.rglob("*") if p.is_file() and not any(
            part.startswith(".") or part == "__pycache__" or part.endswith(".egg-info")
            for part in p.relative_to(root).parts[:-1])}
    venvs = {p.parent for p in files if p.name == "pyvenv.cfg"}
    return sorted(p for p in files if not any(v in p.parents for v in venvs))


def text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file; [] for a binary file (a NUL byte, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return []


def _resolves(ref: str, source: Path, root: Path, names: set[str], placeholder: bool = False) -> bool:
    """Whether a Markdown reference written in ``source`` names a file of the repository.

    Relative paths resolve against the repository root or the citing file's folder. A bare file name may also be
    the name of a file anywhere in the repository (generated outputs such as a run's report). A folder written as
    a placeholder (code-quoted, or a first folder in capitals that does not exist: ``OUT/``) stands for a run
    directory: the file name must then be that of a file of the repository. Absolute
    paths are outside the repository and fail, except scratch outputs under /tmp/ in command examples.
    """
    if placeholder:
        return Path(ref).name in names
    if ref.startswith("/"):
        return ref.startswith("/tmp/")
    path = Path(ref)
    if (root / path).is_file() or (source.parent / path).is_file():
        return True
    head = path.parts[0]
    if len(path.parts) == 1 or (head.isupper() and not (root / head).exists()):
        return path.name in names
    return False


def missing_markdown(root: Path) -> list[str]:
    """'file:line: reference' for every reference to a Markdown file that does not exist in the repository."""
    files = repo_files(root)
    names = {p.name for p in files}
    bad = []
    for path in files:
        for number, line in enumerate(text_lines(path), 1):
            for placeholder, ref in _MD_REF.findall(line):
                if not _resolves(ref, path, root, names, bool(placeholder)):
                    bad.append(f"{path.relative_to(root)}:{number}: {placeholder}{ref}")
    return bad


def theory_headings(text: str) -> set[tuple[str, str | None]]:
    """{(N, None) for '## N. ...'} | {(N, M) for '### N.M ...'} of a theory document."""
    found = set()
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            found.add(match.groups())
    return found


def dangling_sections(root: Path) -> list[str]:
    """'file:line: reference' for every numbered theory.md reference whose heading does not exist."""
    theory = root / THEORY
    headings = theory_headings(theory.read_text(encoding="utf-8")) if theory.is_file() else set()
    bad = []
    for path in repo_files(root):
        for number, line in enumerate(text_lines(path), 1):
            for match in _SECTION_REF.finditer(line):
                section, sub, item = match.groups()
                wanted = {(section, None)} | ({(section, sub or item)} if (sub or item) else set())
                if not wanted <= headings:
                    bad.append(f"{path.relative_to(root)}:{number}: {match.group(0)}")
    return bad


def test_every_markdown_reference_exists():
    bad = missing_markdown(ROOT)
    assert not bad, "references to Markdown files that are not in the repository:\n" + "\n".join(bad)


def test_every_theory_section_reference_exists():
    assert (ROOT / THEORY).is_file()
    bad = dangling_sections(ROOT)
    assert not bad, f"references to sections missing from {THEORY}:\n" + "\n".join(bad)


def test_the_checks_catch_what_they_should(tmp_path):
    # file names are assembled so that this test file does not itself cite them
    md = ".md"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / ("theory" + md)).write_text("# T\n\n## 1. One\n\n### 1.5 Five\n\n## 2. Two\n")
    (tmp_path / ("README" + md)).write_text("see docs/theory" + md + "\n")
    (tmp_path / "data.bin").write_bytes(b"\0GONE" + md.encode())
    (tmp_path / "a.py").write_text("\n".join([
        "ok: README" + md + ", docs/theory" + md + ", OUT/README" + md + ", ``out``/README" + md + ", /tmp/x" + md,
        "https://example.org/x/REMOTE" + md + " is a URL",
        "missing: GONE" + md + " and docs/README" + md + " and /work/NOTES" + md + " and ``out``/GONE" + md,
        "docs/theory" + md + " section 2, docs/theory" + md + " 1.5, theory" + md + " section 1, item 5",
        "docs/theory" + md + " section 3; docs/theory" + md + " 1.6; docs/theory" + md + " sec. 2, item 1",
    ]) + "\n")
    assert missing_markdown(tmp_path) == ["a.py:3: GONE" + md, "a.py:3: docs/README" + md, "a.py:3: /work/NOTES" + md,
                                          "a.py:3: ``out``/GONE" + md]
    assert dangling_sections(tmp_path) == ["a.py:5: theory" + md + " section 3", "a.py:5: theory" + md + " 1.6",
                                           "a.py:5: theory" + md + " sec. 2, item 1"]


def test_a_virtual_environment_inside_the_clone_is_not_scanned(tmp_path):
    # a user who runs `python -m venv v` in the clone (not ignored by .gitignore) must not see the venv's own
    # Markdown references reported as the repository's
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    md = ".md"  # spelt apart so that this file names no Markdown file itself
    (tmp_path / f"README{md}").write_text(f"see docs{md}\n")
    (tmp_path / "v" / "lib").mkdir(parents=True)
    (tmp_path / "v" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "v" / "lib" / "METADATA").write_text(f"see CODE_OF_CONDUCT{md}\n")
    assert repo_files(tmp_path) == [tmp_path / f"README{md}"]
