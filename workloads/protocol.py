"""Defaults of the accuracy protocol (no imports: the command line reads them when building its parser)."""

#: Decoder: tokens per window (N) and consecutive windows (W); llama.cpp ``perplexity``'s protocol.
DEFAULT_TOKENS = 512
DEFAULT_WINDOWS = 8
#: Scored positions per window: "half" (N/2 .. N-2, the default) or "all" (0 .. N-2).
SCORE_MODES = ("half", "all")
#: Encoder: sentences of the text whose embeddings are compared with the reference's.
DEFAULT_SENTENCES = 256
#: Which products go through the PE under test (the rest use the float64 reference):
ATTENTION_MODES = {
    "reference": "weight products through the PE; attention products (Q.K^T, P.V) in float64",
    "pe": "every product through the PE, attention included",
    "pe_only": "attention products through the PE; weight products exact (float64 on the stored weights)",
}
