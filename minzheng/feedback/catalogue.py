"""The data this app ships: request categories (GB/T 39666-2020 six-digit codes, with Chinese and
English names) and the time limits in working days as dated values with their reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import get_language

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str
    kind: str

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def display_label(self) -> str:
        """The label in the reader's language: the English name on an English page."""
        english = self.name_en and (get_language() or "").startswith("en")
        return f"{self.code} {self.name_en if english else self.name}"


@dataclass(frozen=True)
class Limit:
    value: int
    since: date
    reference: str


@cache
def categories() -> dict[str, Category]:
    raw = yaml.safe_load((HERE / "categories.yaml").read_text(encoding="utf-8"))["categories"]
    return {
        str(code): Category(str(code), str(v["zh"]), str(v["en"]), str(v["kind"])) for code, v in raw.items()
    }


def category(code: str) -> Category | None:
    return categories().get(code)


@cache
def _limits() -> dict[str, Any]:
    return yaml.safe_load((HERE / "limits.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _dated(values: dict[Any, Any], on: date) -> Limit:
    applicable = sorted((d, v) for d, v in values.items() if d <= on)
    if not applicable:
        raise LookupError(f"no time limit in force on {on}")
    since, entry = applicable[-1]
    return Limit(int(entry["value"]), since, str(entry["reference"]))


def reply_limit(kind: str, *, urgent: bool, on: date) -> Limit:
    """Working days to reply to a request of `kind` received on `on` (urgent ones: the same day)."""
    table = _limits()["reply_workdays"]
    return _dated(table["urgent" if urgent else kind], on)


def limit(name: str, on: date) -> Limit:
    """A single dated limit: escalate_after_workdays, bad_review_callback_workdays, …"""
    return _dated(_limits()[name], on)
