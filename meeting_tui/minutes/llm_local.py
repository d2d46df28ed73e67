"""Minutes from a language model on this computer's CPU: CTranslate2's Generator (docs/minutes.md says why).

``[minutes] model_file`` is a GGUF file (made into a CTranslate2 model once, in the cache folder, by
``gguf_ct2.py``; needs the ``llm`` extra for the ``gguf`` reader), a CTranslate2 model folder, or
``hf:OWNER/REPO/FILE.gguf`` (downloaded on first use into the Hugging Face cache, with progress and the
hub's checksum, as faster-whisper's models are). ``threads`` (0: every core) and ``context_tokens`` set
how it runs; long transcripts are split to fit the context.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from meeting_tui.minutes.errors import Cancelled, MinutesError
from meeting_tui.minutes.llm import ChatEngine, Progress

CT2_FILES = ("model.bin", "tokenizer.json", "meeting-tui.json")
ANSWER_START = '{"'  # the model's answer begins here


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("MEETING_TUI_CACHE_DIR") or user_cache_dir("meeting-tui", appauthor=False)) / "minutes-models"


def _download(spec: str) -> Path:
    """``hf:OWNER/REPO/FILE`` -> the file, downloaded once (progress bars and checksums are the hub's)."""
    parts = spec[3:].split("/")
    if len(parts) < 3:
        raise MinutesError(f'[minutes] model_file "{spec}": write hf:OWNER/REPO/FILE.gguf')
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download("/".join(parts[:2]), "/".join(parts[2:])))
    except Exception as exc:  # offline, unknown repo, disk full: the hub's own message says which
        raise MinutesError(f"cannot download the minutes model {spec} ({type(exc).__name__}): download the .gguf "
                           "yourself and set [minutes] model_file to its path") from exc


def _converted_folder(path: Path) -> Path:
    stat = path.stat()
    tag = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    return cache_dir() / f"{path.stem}-{tag}"


def resolve_model(model_file: str) -> Path:
    """The model the engine will load (a GGUF file or a CTranslate2 folder), checked before any work."""
    if not model_file:
        raise MinutesError('[minutes] model_file is empty: set it to a GGUF file (e.g. a Qwen2.5 1.5B instruct model '
                           'at Q4_K_M), a CTranslate2 model folder, or "hf:OWNER/REPO/FILE.gguf"')
    if model_file.startswith("hf:"):
        return _download(model_file)
    path = Path(model_file).expanduser()
    if path.is_dir():
        missing = [f for f in CT2_FILES[:2] if not (path / f).is_file()]
        if missing:
            raise MinutesError(f"{path} is not a CTranslate2 model folder (no {', '.join(missing)}): set [minutes] "
                               "model_file to a GGUF file or a converted model's folder")
        return path
    from meeting_tui.minutes.gguf_ct2 import ModelFileError, check_gguf

    try:
        check_gguf(path)
    except ModelFileError as exc:
        raise MinutesError(str(exc).rstrip(".")) from exc
    except ImportError as exc:
        raise MinutesError('reading GGUF models needs the llm extra: pip install "meeting-tui[llm]"') from exc
    return path


class LocalEngine(ChatEngine):
    name = "local"

    def __init__(self, model_path: Path, *, threads: int = 0, context_tokens: int = 2048) -> None:
        super().__init__()
        self.path = model_path
        self.model = model_path.name
        self.threads = threads or os.cpu_count() or 2
        self.context_tokens = context_tokens
        self._generator: Any = None
        self._tokenizer: Any = None
        self._info: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, cfg: Any) -> LocalEngine:
        return cls(resolve_model(cfg.model_file), threads=cfg.threads, context_tokens=cfg.context_tokens)

    def prepare(self, progress: Progress) -> None:
        if self._generator is not None:
            return
        folder = self.path
        if folder.is_file():
            folder = _converted_folder(self.path)
            if not all((folder / f).is_file() for f in CT2_FILES):
                from meeting_tui.minutes.gguf_ct2 import ModelFileError, convert

                progress(0.0, f"converting {self.path.name} for CTranslate2 (once)")
                try:
                    convert(self.path, folder, lambda text: progress(0.0, text))
                except ModelFileError as exc:
                    raise MinutesError(str(exc).rstrip(".")) from exc
        progress(0.0, f"loading {self.model}")
        import ctranslate2
        from tokenizers import Tokenizer

        try:
            self._generator = ctranslate2.Generator(str(folder), device="cpu", compute_type="int8",
                                                    intra_threads=self.threads)
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (RuntimeError, ValueError, OSError) as exc:
            raise MinutesError(f"cannot load the minutes model {folder}: {exc}. Convert it again (delete the "
                               "folder) or choose another [minutes] model_file") from exc
        info_path = folder / "meeting-tui.json"
        self._info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
        self.context_tokens = min(self.context_tokens, int(self._info.get("context_length", self.context_tokens)))

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            return super().count_tokens(text)
        return len(self._tokenizer.encode(text).ids)

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        template = self._info.get("chat_template") or ""
        if template:
            try:
                import jinja2

                env = jinja2.Environment(loader=jinja2.BaseLoader(), autoescape=False)
                return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                                        bos_token="", eos_token=self._info.get("eos", ""))
            except Exception:  # an odd template: ChatML, which most small instruct models use
                pass
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + "<|im_start|>assistant\n"

    def chat(self, messages: list[dict[str, str]], max_tokens: int, cancelled: Callable[[], bool]) -> str:
        # The answer is started for the model ('{"'), so that even a small one answers in JSON, not prose.
        tokens = self._tokenizer.encode(self._prompt(messages) + ANSWER_START).tokens
        stop = [t for t in {self._info.get("eos"), "<|im_end|>", "<|eot_id|>", "<|endoftext|>"}
                if t and self._tokenizer.token_to_id(t) is not None]

        def step(_result) -> bool:  # per generated token: True stops
            return cancelled()

        results = self._generator.generate_batch([tokens], max_length=max_tokens, sampling_topk=1,
                                                 repetition_penalty=1.1, include_prompt_in_result=False,
                                                 end_token=stop, callback=step)
        if cancelled():
            raise Cancelled("minutes cancelled; nothing was written")
        return ANSWER_START + self._tokenizer.decode(results[0].sequences_ids[0])
