"""meeting-tui: live meeting transcription in the terminal."""

__version__ = "0.1.0"
