#!/usr/bin/python3
"""Writes a tiny llama-architecture GGUF model for the llama.cpp server tests.

    PYTHONPATH=<a directory holding only sid's gguf package> /usr/bin/python3 \
        tests/llama/make_model.py OUT.gguf

No model can be downloaded here and none is needed: 2 layers of width 64 with random weights
from a fixed seed, a SentencePiece-style vocabulary of French and English words with byte
fallback, and a chat template.  It answers fluent-looking gibberish, deterministically at
temperature 0, through the server's real HTTP and SSE code.  Well under 1 MB.
"""
import sys

import numpy as np

import gguf

SEED = 20261201
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_FF = 128
N_CTX = 4096

WORDS = """
the of and to in is that it for as with was on be at by this from or have an are not but
what all were when we there can more if will one about so out up which their time them
some would like into has two more write words page read text note draft reader friend
clear sentence question idea point line word passage model answer draft meaning example
le la les de des et un une est que qui dans pour pas sur avec ce il elle on nous vous
mais plus par se son sa ses au aux du en je tu ils elles sont fait faire bien tout
texte note phrase idée mot lecteur ami question réponse passage clair sens exemple
écrire lire début fin jour temps chose monde parce comme aussi encore déjà très peu
""".split()
PUNCT = [".", ",", "!", "?", ":", ";", "'", "-", "«", "»", "\n"]


def vocab():
    tokens, scores, types = [], [], []

    def add(text, score, kind):
        tokens.append(text.encode("utf-8"))
        scores.append(float(score))
        types.append(int(kind))

    add("<unk>", 0.0, gguf.TokenType.UNKNOWN)
    add("<s>", 0.0, gguf.TokenType.CONTROL)
    add("</s>", 0.0, gguf.TokenType.CONTROL)
    for b in range(256):
        add("<0x%02X>" % b, 0.0, gguf.TokenType.BYTE)
    seen = set()
    score = -1.0
    for w in WORDS:
        for piece in ("\u2581" + w, w):
            if piece not in seen:
                seen.add(piece)
                add(piece, score, gguf.TokenType.NORMAL)
                score -= 0.01
    for p in PUNCT + list("abcdefghijklmnopqrstuvwxyzéèàçô") + ["\u2581"]:
        if p not in seen:
            seen.add(p)
            add(p, score, gguf.TokenType.NORMAL)
            score -= 0.01
    return tokens, scores, types


TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<s>' if loop.first else '' }}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def main(out):
    rng = np.random.default_rng(SEED)
    tokens, scores, types = vocab()
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(out, "llama")
    w.add_name("ami-test-tiny")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template(TEMPLATE)

    def t(name, shape, scale=0.5, dtype=np.float16):
        w.add_tensor(name, (rng.standard_normal(shape) * scale).astype(dtype))

    def ones(name, n):
        w.add_tensor(name, np.ones(n, dtype=np.float32))

    t("token_embd.weight", (n_vocab, N_EMBD), 1.0)
    for i in range(N_LAYER):
        p = "blk.%d." % i
        ones(p + "attn_norm.weight", N_EMBD)
        for m in ("attn_q", "attn_k", "attn_v", "attn_output"):
            t(p + m + ".weight", (N_EMBD, N_EMBD), 0.2)
        ones(p + "ffn_norm.weight", N_EMBD)
        t(p + "ffn_gate.weight", (N_FF, N_EMBD), 0.2)
        t(p + "ffn_up.weight", (N_FF, N_EMBD), 0.2)
        t(p + "ffn_down.weight", (N_EMBD, N_FF), 0.2)
    ones("output_norm.weight", N_EMBD)
    t("output.weight", (n_vocab, N_EMBD), 1.0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT.gguf")
    main(sys.argv[1])
