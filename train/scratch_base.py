"""A small, randomly initialised Qwen2 chat model for rehearsing the pipeline on a CPU-only host.

No model can be downloaded here, so the CPU rehearsal starts from nothing: a byte-level BPE
tokenizer trained on the glossary texts and the question phrasings, Qwen's special tokens and
ChatML template, and Qwen2 weights drawn at random. It knows no language; every answer it gives
after training was learned by the LoRA adapter. It stands in for a real base model only to
exercise training and evaluation end to end.
"""
from __future__ import annotations

import json
from pathlib import Path

from train.dataset import glossary_texts, load_knowledge_glossaries
from train.forms import FORMS

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
CHAT_TEMPLATE = (  # Qwen2-Instruct's ChatML template without the tool branches
    "{%- for message in messages %}"
    "{%- if loop.first and message['role'] != 'system' %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
PRETOKENIZE = (  # Qwen2's pre-tokenisation pattern
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def build_scratch_base(
    out: Path, knowledge_dir: Path, hidden_size: int = 256, layers: int = 4, vocab_size: int = 4000, seed: int = 0
) -> Path:
    """Write tokenizer + random Qwen2 weights to `out`, with a note saying exactly what it is."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = _corpus(knowledge_dir)
    tokenizer = build_tokenizer(corpus, vocab_size)
    tokenizer.save_pretrained(out)
    _model(tokenizer, hidden_size, layers, seed).save_pretrained(out)
    note = {
        "what": "randomly initialised Qwen2ForCausalLM, no pre-training; "
        "tokenizer trained on glossary texts and question phrasings",
        "hidden_size": hidden_size,
        "layers": layers,
        "vocab_size": len(tokenizer),
        "seed": seed,
        "corpus_lines": len(corpus),
    }
    (out / "scratch_base.json").write_text(json.dumps(note, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def _corpus(knowledge_dir: Path) -> list[str]:
    texts = glossary_texts(load_knowledge_glossaries(knowledge_dir).terms)
    return texts + [form.text.replace("{x}", "") for form in FORMS] + ["You are a helpful assistant."]


def build_tokenizer(corpus: list[str], vocab_size: int, model_max_length: int = 1024):
    """A byte-level BPE trained on `corpus` with Qwen2's pre-tokenisation, wrapped as a Qwen2 tokenizer with
    Qwen's special tokens (eos `<|im_end|>`, pad `<|endoftext|>`) and ChatML template.

    Public because tests/tiny_qwen.py builds its tiny test model's tokenizer the same way."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer=trainer)
    trained = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=trained["vocab"],
        merges=[tuple(pair) for pair in trained["merges"]],
        unk_token=None,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        extra_special_tokens=[IM_START, IM_END],
        model_max_length=model_max_length,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _model(tokenizer, hidden_size: int, layers: int, seed: int):
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    end_ids = [tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)]
    heads = max(hidden_size // 64, 2)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 8 // 3 // 16 * 16,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(heads // 2, 1),
        max_position_embeddings=1024,
        initializer_range=0.2,  # wide random weights give varied features to build on; 0.02 barely trains under LoRA
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end_ids[0],
        pad_token_id=end_ids[1],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=end_ids, pad_token_id=end_ids[1], do_sample=False)
    return model
