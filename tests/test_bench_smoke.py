"""The scale benchmark still runs end to end (tiny sizes), so it cannot rot between full runs."""
from __future__ import annotations

import pytest

from bench.knowledge_scale import main


@pytest.mark.usefixtures("no_kb_env")
def test_the_knowledge_scale_benchmark_runs_in_quick_mode_and_writes_its_markdown(tmp_path, capsys):
    section = tmp_path / "scale.md"

    exit_code = main(["--quick", "--markdown", str(section)])

    printed = capsys.readouterr().out
    assert exit_code == 0
    assert "passages/s" in printed and "300 passages" in printed
    markdown = section.read_text(encoding="utf-8")
    assert markdown.startswith("## Knowledge layer at scale")
    assert "| 300 |" in markdown
