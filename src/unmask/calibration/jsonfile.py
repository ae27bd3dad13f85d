"""One JSON file per fitted model, tagged with a format string: the save/load shared by calibrations and
stacking models (a dataclass mixin; `source`, the file a model was read from, is not stored)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Self


class JsonFile:
    """Set `file_format` (the `format` tag), `file_keys` (stored fields, the first `required` of them
    mandatory), `file_what` (for "not an unmask <what>" and "<what> lacks ...") and `load_what` (for
    "cannot read <what>"); `load_errors` are the exceptions a bad file may raise while being built."""

    file_format: ClassVar[str]
    file_keys: ClassVar[tuple[str, ...]]
    required: ClassVar[int]
    file_what: ClassVar[str]
    load_what: ClassVar[str]
    load_errors: ClassVar[tuple[type[Exception], ...]] = (OSError, ValueError, TypeError)

    def to_dict(self) -> dict[str, Any]:
        out = {"format": self.file_format, **asdict(self)}  # type: ignore[call-overload]
        out.pop("source")
        return out

    @classmethod
    def from_dict(cls, obj: Any, source: str | None = None) -> Self:
        if obj.get("format") != cls.file_format:
            raise ValueError(f"not an unmask {cls.file_what} (format {obj.get('format')!r}, want "
                             f"{cls.file_format!r})")
        missing = [k for k in cls.file_keys[:cls.required] if k not in obj]
        if missing:
            raise ValueError(f"{cls.file_what} lacks {', '.join(missing)}")
        return cls(**{k: obj[k] for k in cls.file_keys if k in obj}, source=source)  # type: ignore[call-arg]

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a file; ValueError (naming the file) when it is not valid."""
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_dict(obj, source=str(path))
        except cls.load_errors as exc:
            raise ValueError(f"{path}: cannot read {cls.load_what}: {exc}") from exc
