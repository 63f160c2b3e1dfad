"""The LoRA term model: trained from the glossary, for what the glossary itself cannot answer.

    python -m train dataset [--knowledge DIR] [--out DIR] [--eval-terms-fraction 0.1] [--seed N]
    python -m train check FILE [--fix] [--knowledge DIR]
    python -m train lora --base PATH --data DIR --out adapters/NAME [--from-adapter adapters/OLD] ...
    python -m train eval --base PATH [--adapter adapters/NAME] --data DIR [--json]
    python -m train list
    python -m train scratch-base --out DIR      (a random tiny Qwen2 for CPU rehearsals)

Modules: forms (question phrasings and which split uses them), dataset (rows from glossary terms),
quality (row checks), encoding (chat template, prompt masking), lora (training), generation and
evaluate (greedy replies, scoring, manifest figures), scratch_base (the rehearsal base model).
"""
