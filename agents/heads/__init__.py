"""Task heads on the vision-language encoder stack: retrieval, VQA and captioning.

- ``retrieval``: ITC similarity for all pairs, ITM re-ranking of each query's top k.
- ``vqa``: answer classifier over the top-N training answers from the fused [CLS].
- ``captioning``: a BERT decoder with cross-attention to the image tokens, decoded with
  ``transformers``' ``generate()``.
"""
