"""The YAML form of a service guide, validated before anything is written.

One file per item in `minzheng/catalogue/items/<code>.yaml`; the file name is the item code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from minzheng.catalogue.models import DecisionLevel, Department, IntakeMode
from minzheng.core.errors import InvalidInput

ITEMS_DIR = Path(__file__).resolve().parent / "items"

Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class MaterialSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    required: bool = True
    fetchable_by_office: bool = False
    pledge_allowed: bool = False
    note: Annotated[str, Field(max_length=300)] = ""


class StepSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    who: Annotated[str, Field(min_length=1, max_length=80)]
    days: Annotated[int, Field(ge=0, le=365)] | None = None  # working days
    calendar_days: Annotated[int, Field(ge=1, le=365)] | None = None  # e.g. 公示 7 calendar days
    note: Annotated[str, Field(max_length=300)] = ""


class FormSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    note: Annotated[str, Field(max_length=300)] = ""


class GuideSpec(_Strict):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    summary: Annotated[str, Field(min_length=1, max_length=200)]
    department: str
    handled_by: str
    intake_mode: str
    accepts_at_township: bool = True
    delegated_to_township: bool = False
    sort_order: Annotated[int, Field(ge=0, le=32767)] = 0
    is_active: bool = True
    legal_basis: Text
    conditions: Text
    materials: Annotated[list[MaterialSpec], Field(min_length=1)]
    steps: Annotated[list[StepSpec], Field(min_length=1)]
    time_limit_working_days: Annotated[int, Field(ge=1, le=365)]
    time_limit_note: Annotated[str, Field(max_length=300)] = ""
    forms: list[FormSpec] = []
    fee: Annotated[str, Field(min_length=1, max_length=100)] = "不收费"
    commitment: Text

    @model_validator(mode="after")
    def _consistent(self) -> GuideSpec:
        for field, choices in (
            ("department", Department),
            ("handled_by", DecisionLevel),
            ("intake_mode", IntakeMode),
        ):
            if getattr(self, field) not in choices.values:
                raise ValueError(f"{field} 须为 {'、'.join(choices.values)} 之一")
        names = [m.name for m in self.materials]
        if len(set(names)) != len(names):
            raise ValueError("材料名称重复")
        if self.delegated_to_township and (self.handled_by != "county" or not self.accepts_at_township):
            raise ValueError("只有县级审批且乡镇受理的事项才能下放乡镇审核确认")
        return self


def _message(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "（整体）"
        problems.append(f"{where}：{err.get('msg', '无效')}")
    return f"{path.name}：" + "；".join(problems)


def read_guide(path: Path) -> GuideSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path.name}：YAML 格式错误：{exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}：内容应为键值对")
    try:
        spec = GuideSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_message(path, exc)) from exc
    if spec.code != path.stem:
        raise InvalidInput(f"{path.name}：事项编码 {spec.code} 与文件名不一致")
    return spec


def read_guides(directory: Path = ITEMS_DIR) -> list[GuideSpec]:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise InvalidInput(f"{directory} 中没有事项文件（*.yaml）")
    return [read_guide(p) for p in paths]
