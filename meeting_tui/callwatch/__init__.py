"""`meeting-tui watch`: record while another application uses the microphone (a call), stop when it lets go
or after minutes without speech. ``probe`` says who uses the mic (``pulse`` on Linux, ``windows`` from the
capability access manager's records); ``watcher`` decides; ``commands`` runs ``record`` for each call."""
