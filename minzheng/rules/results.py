"""What every calculation returns: eligibility with reasons, the amount, line items and the
parameters used. `as_dict()` is the stored form: decisions keep it so they reproduce years later."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from minzheng.rules.money import ZERO
from minzheng.rules.policy import ParameterUsed

ENGINE_VERSION = "2026.11"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    met: bool
    member: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "met": self.met, "member": self.member}


@dataclass(frozen=True)
class LineItem:
    code: str
    label: str
    amount: Decimal
    explanation: str
    member: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "amount": str(self.amount),
            "explanation": self.explanation,
            "member": self.member,
        }


@dataclass
class Result:
    programme: str
    programme_label: str
    period: str  # "month" for monthly benefits, "once" for one-off assistance
    eligible: bool = False
    amount: Decimal = ZERO
    status: str = ""  # programme-specific standing, e.g. "near_poor" for dibao
    approval_level: str = ""  # who may approve (temporary assistance)
    reasons: list[Reason] = field(default_factory=list)
    lines: list[LineItem] = field(default_factory=list)
    parameters: list[ParameterUsed] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def reason(self, code: str, text: str, met: bool, member: str | None = None) -> bool:
        self.reasons.append(Reason(code, text, met, member))
        return met

    def line(
        self, code: str, label: str, amount: Decimal, explanation: str, member: str | None = None
    ) -> Decimal:
        self.lines.append(LineItem(code, label, amount, explanation, member))
        return amount

    @property
    def monthly_amount(self) -> Decimal | None:
        return self.amount if self.period == "month" else None

    @property
    def overridden(self) -> bool:
        return any(p.overridden for p in self.parameters)

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "programme_label": self.programme_label,
            "engine_version": ENGINE_VERSION,
            "eligible": self.eligible,
            "status": self.status,
            "period": self.period,
            "amount": str(self.amount),
            "monthly_amount": str(self.monthly_amount) if self.monthly_amount is not None else None,
            "approval_level": self.approval_level,
            "rounding": "每步计算结果按分四舍五入（ROUND_HALF_UP）",
            "overridden": self.overridden,
            "reasons": [r.as_dict() for r in self.reasons],
            "lines": [li.as_dict() for li in self.lines],
            "parameters": [p.as_dict() for p in self.parameters],
            "facts": self.facts,
        }
