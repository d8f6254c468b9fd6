"""Winnow's bundled trainer: a nanoGPT-style GPT trained on the pipeline's Parquet token shards."""
