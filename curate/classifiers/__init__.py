"""fastText classifiers: the language-ID and quality models the stages load (``model.py``), and
training a quality classifier from labelled examples (``train.py``, ``curate train-classifier``).

Nothing is imported here, so that a stage loading a model does not load the trainer's readers.
"""
