"""Meeting memory: a full-text index over every session (``index``, ``query``), fed from the session files
(``extract``), and the ``meeting-tui search`` command. The journals stay the one source of truth: the index
can be deleted at any time and is rebuilt from them."""
