"""`python app.py [--knowledge DIR] [--index DIR] [--host HOST] [--port PORT] [--insecure-open]`: the web app
employees chat in.

Brings the index up to date, then serves the chat and knowledge tabs (agent/surfaces/web) and, on the same port, the
HTTP API (agent/api: /v1/chat/completions, /v1/knowledge/status, /healthz). With KB_INDEX_MODE=follow it is one of
several replicas behind a load balancer: it never indexes, but serves the generations that the one indexer
(`python -m agent ingest --watch`) publishes, each within seconds. Sign-in, admins, API tokens, the
upload limit and the language come from KB_USERS, KB_ADMINS, KB_API_TOKENS, KB_MAX_UPLOAD_MB and KB_UI_LANG.
Before anything is loaded it refuses what would expose the knowledge (agent/surfaces/exposure.py): another
address than 127.0.0.1 without sign-in (unless --insecure-open) or with plain-text passwords, and placeholder
secrets."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from agent.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description="Enterprise knowledge assistant web app")
    parser.add_argument("--knowledge", help="knowledge folder (default: KB_KNOWLEDGE_DIR or knowledge/)")
    parser.add_argument("--index", help="index folder (default: KB_INDEX_DIR or .index/ beside the knowledge)")
    parser.add_argument("--host", help="address to listen on (default: KB_HOST with KB_USERS, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: KB_PORT or 7860)")
    parser.add_argument("--insecure-open", action="store_true",
                        help="allow listening off this machine without sign-in, on a network you trust (warned at "
                             "every start)")
    parser.add_argument("--no-watch", action="store_true",
                        help="do not re-index by itself when knowledge files change (KB_WATCH_DEBOUNCE_S sets the delay)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "bm25s", "jieba", "sentence_transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from agent.surfaces.exposure import check_exposure
    from agent.surfaces.web.access import bind_host

    try:  # a bad setting, found now or while the service starts, is one line that names it
        settings = Settings.from_env(args.knowledge, args.index)
        host = bind_host(settings, args.host)
        for warning in check_exposure(settings, host, args.insecure_open):
            print(f"warning: {warning}", file=sys.stderr)
        if not settings.knowledge_dir.is_dir():
            raise ConfigError(f"knowledge folder {settings.knowledge_dir} does not exist (KB_KNOWLEDGE_DIR / --knowledge)")
        from agent.answer.service import KnowledgeService

        if settings.index_mode == "follow":  # a replica: the indexer builds, this one serves what it publishes
            service = published_index_service(settings)
        else:
            service = KnowledgeService(settings, show_progress=True, wait_for_vectors=False)  # serve now, vectors follow
        service.warm_up()  # the first visitor's question should not wait for jieba's dictionary
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from agent.memory.database import MemoryDatabase, MemoryUnavailable
    from agent.surfaces.api import api_router
    from agent.surfaces.web.blocks import build_app, launch_options

    if not args.no_watch and settings.index_mode == "build":
        service.watch()
    service.follow()  # a generation published by an indexer or another replica is served within seconds
    database = MemoryDatabase.from_settings(settings)  # conversations and the question log: SQLite or PostgreSQL
    try:  # the schema's migrations, once, now (when anything is stored); a database that is down is tried again
        if settings.log_questions or settings.history_days > 0:  # at each use
            database.migrate()
    except MemoryUnavailable as exc:
        print(f"warning: {exc}: answers go on; history and the question log wait for the database", file=sys.stderr)
    if settings.log_questions:  # the FAQ decision learns from the log's labels, off the request path
        from agent.answer.learning import LearningLoop
        from agent.memory.question_log import QuestionLog

        LearningLoop(service, QuestionLog(database, settings)).start()
    app = build_app(service, database)
    server, _, _ = app.launch(prevent_thread_lock=True, **launch_options(service, host, args.port or settings.port))
    server.include_router(api_router(service, database, insecure_open=args.insecure_open))
    app.block_thread()
    return 0


PUBLISHED_WAIT_S = 30.0  # a replica's re-index (after a fix) waits this long for the indexer to publish it
LOOK_EVERY_S = 0.25


def published_index_service(settings: Settings):
    """KB_INDEX_MODE=follow: a KnowledgeService that never indexes. It starts from the generation the indexer
    published (waiting for the first), follows each new one (service.follow), and a re-index asked of it (a fix
    from 待完善, the re-index button) waits until the indexer has published the knowledge folder as it is now,
    so the fix's answer is checked against it."""
    from agent.answer.service import KnowledgeService
    from agent.index import store
    from agent.index.build import IngestReport
    from agent.ingest.folder import scan_knowledge

    log = logging.getLogger("app")

    def published_matches_the_folder() -> bool:
        """The published generation was built from every knowledge file as it is on disk now."""
        try:
            generation = store.current_generation(settings.index_dir)
            files = json.loads((generation / "manifest.json").read_text(encoding="utf-8")).get("files", {})
        except (store.IndexMissing, OSError, ValueError):
            return False
        on_disk = {relative: path.stat() for relative, (_, path) in scan_knowledge(settings.knowledge_dir).items()}
        return on_disk.keys() == files.keys() and all(
            files[relative].get("size") == stat.st_size and files[relative].get("modified") == stat.st_mtime
            for relative, stat in on_disk.items())

    class PublishedIndexService(KnowledgeService):
        def refresh(self, show_progress: bool = False) -> IngestReport:
            first = self._loaded is None
            deadline = time.monotonic() + PUBLISHED_WAIT_S
            while True:
                if first:
                    try:
                        store.current_generation(settings.index_dir)
                        break
                    except store.IndexMissing:
                        if time.monotonic() > deadline:  # said once a while, and waited for on
                            log.info("waiting for the indexer to publish an index in %s", settings.index_dir)
                            deadline = time.monotonic() + PUBLISHED_WAIT_S
                elif published_matches_the_folder() or time.monotonic() > deadline:
                    break
                time.sleep(LOOK_EVERY_S)
            with self._refresh_lock:
                changed = self._loaded is None or self._published_elsewhere()
                if changed:
                    self._loaded = self._load()
            kb = self.kb
            return IngestReport([], {"terms": len(kb.terms), "faq": len(kb.faq), "chunks": len(kb.passages)}, changed)

    return PublishedIndexService(settings, wait_for_vectors=False)


if __name__ == "__main__":
    sys.exit(main())
