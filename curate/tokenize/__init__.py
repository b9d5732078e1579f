"""Tokenization helpers behind the ``tokenize`` stage: sentencepiece training, encoding, packing."""
