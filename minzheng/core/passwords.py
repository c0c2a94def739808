"""Password policy: at least 10 characters (Django's MinimumLengthValidator) and mixed classes."""

from __future__ import annotations

import string
from typing import Any

from django.core.exceptions import ValidationError

CLASSES = (
    ("小写字母", set(string.ascii_lowercase)),
    ("大写字母", set(string.ascii_uppercase)),
    ("数字", set(string.digits)),
)


def character_classes(password: str) -> int:
    found = sum(1 for _, chars in CLASSES if any(c in chars for c in password))
    if any(not c.isalnum() or not c.isascii() for c in password):
        found += 1  # symbols and non-ASCII characters count as one more class
    return found


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                "密码须包含以下至少%(n)d类字符：小写字母、大写字母、数字、符号。",
                code="password_too_simple",
                params={"n": self.min_classes},
            )

    def get_help_text(self) -> str:
        return f"密码须包含小写字母、大写字母、数字、符号中的至少{self.min_classes}类。"
