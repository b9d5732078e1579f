"""Input shapes, chat templates and output schemas behind the readers and the ``format`` stage."""
