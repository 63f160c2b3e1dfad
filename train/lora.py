"""LoRA fine-tuning with the transformers Trainer, from scratch or continuing an existing adapter.

Model selection uses the valid split (phrasings kept out of both training and final evaluation), so
the held-out-form accuracy reported later was never used to pick a checkpoint.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from agent.llm.adapter_registry import AdapterManifest, read_manifest, write_manifest
from agent.llm.gemma import is_gemma_name, resolve_base
from agent.llm.term_model import CHAT_PROMPT, PLAIN_PROMPT
from train.dataset import TrainingRow, dataset_hash, read_split
from train.encoding import IGNORE_INDEX, EncodedRows, check_prompt_format
from train.forms import TRAIN, VALID

logger = logging.getLogger(__name__)

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKPOINTS = "checkpoints"


@dataclass
class LoraOptions:
    base: Path
    data: Path
    out: Path
    epochs: float = 3.0
    learning_rate: float = 1e-4
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    batch_size: int = 8
    gradient_accumulation: int = 1
    warmup: float = 0.05  # fraction of all steps
    patience: int = 2  # epochs without a better eval loss before stopping
    max_length: int = 512
    gradient_checkpointing: bool = True
    load_4bit: bool = False
    resume: bool = False
    from_adapter: Path | None = None
    replay_ratio: float = 1.0  # old rows replayed per new row in incremental training
    seed: int = 0
    target_modules: tuple[str, ...] = TARGET_MODULES
    prompt_format: str = ""  # chat | plain; empty: plain for a named pretrained base (gemma-3-270m), else chat

    def __post_init__(self):
        self.target_modules = tuple(self.target_modules)
        self.prompt_format = check_prompt_format(self.prompt_format or default_prompt_format(self.base))

    def hyperparameters(self) -> dict:
        recorded = asdict(self)
        for name in ("base", "data", "out", "resume", "from_adapter"):
            recorded.pop(name)
        recorded["target_modules"] = list(self.target_modules)
        recorded["lr_scheduler"] = "cosine"
        return recorded


def default_prompt_format(base) -> str:
    """Gemma 3 270M is a pretrained base, so it is asked in the plain format; a model folder in its chat template."""
    return PLAIN_PROMPT if is_gemma_name(base) else CHAT_PROMPT


@dataclass
class TrainingResult:
    adapter_dir: Path
    manifest: AdapterManifest
    initial_eval_loss: float | None
    eval_losses: list[float]  # one per epoch
    best_eval_loss: float | None
    train_rows: int
    valid_rows: int


def term_fingerprints(rows: list[TrainingRow]) -> dict[str, str]:
    """term key -> short hash of every answer taught about it, so a changed definition counts as new."""
    answers: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for key in row.terms:
            answers[key].add(row.output)
    return {
        key: hashlib.sha256("\n".join(sorted(texts)).encode("utf-8")).hexdigest()[:12]
        for key, texts in sorted(answers.items())
    }


@dataclass
class IncrementalRows:
    train: list[TrainingRow]
    valid: list[TrainingRow]
    new_terms: list[str]
    replayed_rows: int


def incremental_rows(
    train_rows: list[TrainingRow],
    valid_rows: list[TrainingRow],
    known_terms: dict[str, str],
    replay_ratio: float,
    seed: int,
) -> IncrementalRows:
    """Rows of terms the parent adapter lacks (or learned differently), plus a replay sample of the rest."""
    current = term_fingerprints(train_rows)
    new_terms = sorted(key for key, fingerprint in current.items() if known_terms.get(key) != fingerprint)
    if not new_terms:
        raise ValueError("the data holds no term the parent adapter has not learned already; nothing to train")
    rng = random.Random(seed)

    def mixed(rows: list[TrainingRow]) -> tuple[list[TrainingRow], int]:
        new = [row for row in rows if set(row.terms) & set(new_terms)]
        old = [row for row in rows if not set(row.terms) & set(new_terms)]
        replay = rng.sample(old, min(len(old), round(replay_ratio * len(new))))
        combined = new + replay
        rng.shuffle(combined)
        return combined, len(replay)

    train, replayed = mixed(train_rows)
    valid, _ = mixed(valid_rows)
    return IncrementalRows(train, valid, new_terms, replayed)


def train_lora(options: LoraOptions) -> TrainingResult:
    """Train (or continue) an adapter, keep the checkpoint with the best eval loss, write its manifest."""
    import torch
    from transformers import AutoTokenizer, EarlyStoppingCallback, Trainer, set_seed

    set_seed(options.seed)  # the fresh LoRA weights are drawn before the Trainer would seed
    out = Path(options.out)
    train_rows, valid_rows = read_split(options.data, TRAIN), read_split(options.data, VALID)
    if not train_rows or not valid_rows:
        raise ValueError(f"{options.data} needs train.jsonl and valid.jsonl; build them with `python -m train dataset`")
    taught = term_fingerprints(train_rows)
    parent = read_manifest(options.from_adapter) if options.from_adapter else None
    new_terms: list[str] = []
    if parent:
        mixed = incremental_rows(train_rows, valid_rows, parent.trained_terms, options.replay_ratio, options.seed)
        logger.info("incremental: %d new or changed terms, %d rows replayed", len(mixed.new_terms), mixed.replayed_rows)
        new_terms, train_rows, valid_rows = mixed.new_terms, mixed.train, mixed.valid
    base_folder = resolve_base(options.base)
    tokenizer = AutoTokenizer.from_pretrained(base_folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = _answer_loss_trainer(Trainer)(
        model=_trainable_model(options, base_folder, torch),
        args=_training_arguments(options, out, torch),
        train_dataset=EncodedRows(tokenizer, train_rows, options.max_length, options.prompt_format),
        eval_dataset=EncodedRows(tokenizer, valid_rows, options.max_length, options.prompt_format),
        data_collator=_padding_collator(tokenizer),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=options.patience)],
    )
    checkpoint = _last_checkpoint(out) if options.resume else None
    initial_loss = None if checkpoint else trainer.evaluate()["eval_loss"]
    started = time.monotonic()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.monotonic() - started
    for config in trainer.model.peft_config.values():  # the base as named (gemma-3-270m), not its cache folder
        config.base_model_name_or_path = str(options.base)
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    epoch_losses = [entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry]
    manifest = AdapterManifest(
        name=out.name,
        base_model=str(options.base),
        dataset_hash=dataset_hash(options.data),
        hyperparameters=options.hyperparameters(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        training={
            "train_rows": len(train_rows),
            "valid_rows": len(valid_rows),
            "initial_eval_loss": initial_loss,
            "eval_loss_by_epoch": epoch_losses,
            "best_eval_loss": trainer.state.best_metric,
            "epochs_run": trainer.state.epoch,
            "seconds": round(seconds, 1),
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "resumed_from": checkpoint.name if checkpoint else "",
        },
        trained_terms={**(parent.trained_terms if parent else {}), **taught},
        new_terms=new_terms,
        parent_adapter=str(options.from_adapter) if options.from_adapter else "",
    )
    write_manifest(out, manifest)
    return TrainingResult(
        out, manifest, initial_loss, epoch_losses, trainer.state.best_metric, len(train_rows), len(valid_rows)
    )


def _answer_loss_trainer(trainer_class):
    """A Trainer whose loss computes logits only at the positions that predict an answer token.

    Gemma 3's output layer spans 262k tokens and costs more than the rest of the 270M model together;
    the prompt's positions carry no loss, so their logits are never computed. The loss is the same mean
    over answer tokens as the model's own."""

    class AnswerLossTrainer(trainer_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.model_accepts_loss_kwargs = False  # a mean per batch; the Trainer divides by accumulation

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            import torch

            labels = inputs["labels"]
            positions = (labels[:, 1:] != IGNORE_INDEX).any(dim=0).nonzero().flatten()
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                            logits_to_keep=positions)
            loss = torch.nn.functional.cross_entropy(
                outputs.logits.flatten(0, 1).float(), labels[:, positions + 1].flatten(), ignore_index=IGNORE_INDEX
            )
            return (loss, outputs) if return_outputs else loss

    return AnswerLossTrainer


def _training_arguments(options: LoraOptions, out: Path, torch):
    """Cosine schedule with warm-up; evaluate and save every epoch; keep the best eval loss."""
    from transformers import TrainingArguments

    use_gpu = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        num_train_epochs=options.epochs,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation,
        learning_rate=options.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=options.warmup,  # below 1: a fraction of all steps
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        save_total_limit=2,
        activation_checkpointing=options.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if options.gradient_checkpointing else None,
        bf16=use_gpu and torch.cuda.is_bf16_supported(),
        use_cpu=not use_gpu,
        label_names=["labels"],
        prediction_loss_only=True,  # evaluation needs the loss only; gathered logits would fill the memory
        report_to="none",
        seed=options.seed,
    )


def _trainable_model(options: LoraOptions, base_folder: Path, torch):
    """The base model with a fresh LoRA adapter, or with the parent adapter made trainable again."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    load_options: dict = {}
    if torch.cuda.is_available():
        load_options["dtype"] = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        load_options["dtype"] = torch.float32
    if options.load_4bit:
        load_options.update(_four_bit_options(torch))
    model = AutoModelForCausalLM.from_pretrained(base_folder, **load_options)
    model.config.use_cache = False
    if options.load_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=options.gradient_checkpointing)
    if options.from_adapter:
        return PeftModel.from_pretrained(model, options.from_adapter, is_trainable=True)
    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=list(options.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _four_bit_options(torch) -> dict:
    """4-bit NF4 loading (QLoRA); bitsandbytes is only needed, and only imported, when asked for."""
    if not torch.cuda.is_available():
        raise ValueError("--load-4bit needs a CUDA GPU (bitsandbytes 4-bit kernels)")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError("--load-4bit needs the bitsandbytes package: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16,
    )
    return {"quantization_config": quantization, "device_map": {"": 0}}


def _padding_collator(tokenizer):
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX, return_tensors="pt")


def _last_checkpoint(out: Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINTS
    last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    if last is None:
        logger.warning("--resume: no checkpoint in %s, starting from the beginning", folder)
    return Path(last) if last else None
