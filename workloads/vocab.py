"""Tokenizers built with the ``tokenizers`` package from a model file's own vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from accel.errors import WorkloadError

GGUF_CONTROL = 3  # llama.cpp token type of control tokens (<|im_start|> ...)


def byte_level_bpe(tokens: Sequence[str], merges: Sequence[str], token_types: Sequence[int] | None = None,
                   split_digits: bool = True):
    """GPT-2 style byte-level BPE (SmolLM2): vocabulary and merges as stored in a GGUF file.

    ``split_digits`` puts every digit in its own pre-token, as SmolLM2's tokenizer does.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise WorkloadError(f"tokenizer vocabulary has duplicate tokens ({len(tokens)} entries, "
                            f"{len(vocab)} distinct)")
    pairs = []
    for m in merges:
        a, sep, b = m.partition(" ")
        if not sep or a not in vocab or b not in vocab:
            raise WorkloadError(f"malformed BPE merge {m!r}: expected two vocabulary tokens joined by a space")
        pairs.append((a, b))
    tk = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
    parts = [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    if split_digits:
        parts.insert(0, pre_tokenizers.Digits(individual_digits=True))
    tk.pre_tokenizer = pre_tokenizers.Sequence(parts)
    tk.decoder = decoders.ByteLevel()
    if token_types is not None:
        special = [t for t, ty in zip(tokens, token_types, strict=True) if ty == GGUF_CONTROL]
        if special:
            tk.add_special_tokens(special)
    return tk


def wordpiece(vocab_file: str | Path, lowercase: bool = True):
    """BERT WordPiece (MiniLM) from a ``vocab.txt``: [CLS] text [SEP], lower-cased, accents kept."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    path = Path(vocab_file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"cannot read WordPiece vocabulary {str(path)!r}: {exc}") from None
    vocab = {t: i for i, t in enumerate(lines)}
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in vocab]
    if missing:
        raise WorkloadError(f"WordPiece vocabulary {str(path)!r} lacks special tokens {missing!r}")
    tk = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tk.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                               lowercase=lowercase)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tk.decoder = decoders.WordPiece(prefix="##")
    tk.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + (["[MASK]"] if "[MASK]" in vocab else []))
    return tk
