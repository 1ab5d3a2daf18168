"""Every section the code and the docs cite exists in the repository's own documents."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("docs/model.md", "docs/systems.md")
# "docs/model.md §3", "docs/model.md §3, §4 and §6", "docs/systems.md §5, B-5"
CITATION = re.compile(r"(docs/(?:model|systems)\.md)`?((?:(?:,|and|or|–|-|\s)*§\d+)+)")


def tracked_text_files():
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if n.endswith((".py", ".md", ".toml", ".txt", ".cfg")) and (ROOT / n).is_file()]


def sections(document):
    text = (ROOT / document).read_text()
    anchors = set(re.findall(r'<a id="s(\d+)"></a>\s*\n##\s*§(\d+)\.', text))
    assert all(a == b for a, b in anchors), f"{document}: an anchor and its heading disagree"
    return {int(a) for a, _ in anchors}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_each_document_has_its_numbered_anchored_sections(document):
    found = sections(document)
    expected = set(range(13)) if document.endswith("model.md") else set(range(1, 9))
    assert found == expected


def test_every_cited_section_exists():
    known = {d: sections(d) for d in DOCUMENTS}
    cited, missing = 0, []
    for path in tracked_text_files():
        for match in CITATION.finditer(path.read_text(errors="replace")):
            for number in re.findall(r"§(\d+)", match.group(2)):
                cited += 1
                if int(number) not in known[match.group(1)]:
                    missing.append(f"{path.relative_to(ROOT)}: {match.group(1)} §{number}")
    assert not missing, missing
    assert cited > 100  # the docstrings cite the documents throughout


def test_no_citation_points_outside_the_repository():
    stale = re.compile(r"spec §\d|spec/model\.md|seed_systems\.md|\.\./shared|asymptotics\.md", re.IGNORECASE)
    offenders = [f"{p.relative_to(ROOT)}:{i + 1}" for p in tracked_text_files() if p.name != "test_citations.py"
                 for i, line in enumerate(p.read_text(errors="replace").splitlines()) if stale.search(line)]
    assert not offenders, offenders
