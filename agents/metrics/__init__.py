"""Standard-task metrics: VQA accuracy, retrieval recall, captioning scores.

One module per metric family; each is importable without torch
(``captioning`` needs the ``pycocoevalcap`` package).
"""
