"""Workflows as data: for every service item one transitions table (state, action -> next state,
permission, guards) and the time limit of each state, following DOMAIN.md and the regulations cited.

`case_transition` (cases/services.py) is the only function that applies these tables.
Limits: ("working", n) = n working days (工作日) after the state starts; ("calendar", n) = n calendar
days (自然日, e.g. the 7-day public notice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minzheng.core.permissions import Perm

Limit = tuple[str, int]


@dataclass(frozen=True)
class State:
    code: str
    label: str
    who: str  # the office that must act: village / township / county / applicant
    limit: Limit | None = None
    limit_text: str = ""
    final: bool = False


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    label: str
    perm: Perm
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    code: str
    label: str
    programme: str  # rules programme whose calculation a decision stores ("" for transfers)
    states: dict[str, State]
    transitions: tuple[Transition, ...]
    total_limit_working_days: int
    public_notice: bool = False
    items: tuple[str, ...] = field(default=())

    def transition(self, source: str, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.source == source and t.action == action), None)

    def actions_from(self, source: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == source]


def _states(*states: State) -> dict[str, State]:
    return {s.code: s for s in states}


COMMON_FINAL = (
    State("approved", "已批准", "county", final=True),
    State(
        "refusal_notice",
        "书面告知不予批准理由",
        "township",
        ("working", 3),
        "决定后3个工作日内书面告知并说明理由",
    ),
    State("refused", "不予批准（已告知）", "township", final=True),
    State("withdrawn", "申请人撤回", "applicant", final=True),
)
INCOMPLETE = State("incomplete", "材料不全，已一次性告知", "applicant", limit_text="申请人补齐材料后受理")
COMPLETE_MATERIALS = Transition(
    "incomplete",
    "complete_materials",
    "accepted",
    "补齐材料，正式受理",
    Perm.CASE_INTAKE,
    ("materials_complete",),  # accepted only once nothing required is missing
)

WITHDRAW_FROM = ("incomplete", "accepted", "investigating", "verifying", "opinion", "notice", "objection")


def _withdrawals(states: dict[str, State]) -> tuple[Transition, ...]:
    return tuple(
        Transition(s, "withdraw", "withdrawn", "申请人撤回申请", Perm.CASE_INTAKE)
        for s in WITHDRAW_FROM
        if s in states
    )


def _county_decision(approve_guards: tuple[str, ...]) -> tuple[Transition, ...]:
    """The county's confirmation: approve (with `approve_guards`), refuse with reasons, or send the
    case back for a new investigation."""
    county = Perm.CASE_APPROVE_COUNTY
    return (
        Transition("county_review", "approve", "approved", "县级审核确认：批准", county, approve_guards),
        Transition(
            "county_review", "refuse", "refusal_notice", "县级审核确认：不予批准", county, ("reasons_given",)
        ),
        Transition(
            "county_review",
            "return_for_investigation",
            "investigating",
            "退回重新调查",
            county,
            ("reasons_given",),
        ),
    )


def _refusal_tail() -> tuple[Transition, ...]:
    return (
        Transition(
            "refusal_notice", "send_refusal_notice", "refused", "送达不予批准告知书", Perm.CASE_INTAKE
        ),
    )


# 最低生活保障 (民发〔2021〕57号): 受理 -> 3个工作日内启动调查 -> 入户调查（≥2人，签字）-> 核对 ->
# 初审意见 -> 村（居）公示7天 -> 有异议重新调查或民主评议 -> 县级（或下放乡镇）审核确认 -> 次月发放。
_DIBAO_STATES = _states(
    INCOMPLETE,
    State("accepted", "已受理，待启动调查", "township", ("working", 3), "受理后3个工作日内启动调查核实"),
    State(
        "investigating",
        "入户调查",
        "township",
        ("working", 10),
        "入户调查（不少于2人）并请求家庭经济状况核对",
    ),
    State(
        "verifying", "家庭经济状况核对", "county", ("working", 3), "县级核对机构收到请求后3个工作日内启动核对"
    ),
    State("opinion", "乡镇（街道）提出初审意见", "township", ("working", 3), "核对结果返回后提出初审意见"),
    State("notice", "村（居）公示", "village", ("calendar", 7), "公示期7天（自然日）"),
    State("objection", "公示有异议，待处理", "township", ("working", 5), "重新调查或组织民主评议"),
    State("county_review", "县级审核确认", "county", ("working", 10), "收到材料后10个工作日内审核确认"),
    State(
        "township_review",
        "乡镇（街道）审核确认（已下放）",
        "township",
        ("working", 10),
        "收到材料后10个工作日内审核确认",
    ),
    *COMMON_FINAL,
)


def _notice_transitions(*, delegable: bool) -> tuple[Transition, ...]:
    """Investigation, verification, preliminary opinion, 7-day notice, objections and confirmation:
    the path shared by dibao and extreme poverty. `delegable`: confirmation may be delegated to the
    township (dibao), adding the township routes."""
    all_transitions = (
        COMPLETE_MATERIALS,
        Transition(
            "accepted",
            "start_investigation",
            "investigating",
            "启动调查核实",
            Perm.CASE_INVESTIGATE,
            ("investigator_level",),
        ),
        Transition(
            "investigating",
            "request_verification",
            "verifying",
            "提请家庭经济状况核对",
            Perm.CASE_INVESTIGATE,
            ("visit_recorded",),
        ),
        Transition(
            "verifying",
            "record_verification",
            "opinion",
            "录入核对结果",
            Perm.CASE_REVIEW_COUNTY,
            ("verification_report_issued",),
        ),
        Transition(
            "opinion",
            "propose_approval",
            "notice",
            "提出拟批准初审意见并公示",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("calculation_eligible",),
        ),
        Transition(
            "opinion",
            "propose_refusal",
            "refusal_notice",
            "提出不予批准意见（说明理由）",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("reasons_given",),
        ),
        Transition("notice", "record_objection", "objection", "登记公示异议", Perm.CASE_REVIEW_TOWNSHIP),
        Transition(
            "notice",
            "close_notice",
            "county_review",
            "公示期满无异议，报县级审核确认",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("notice_over", "county_route"),
        ),
        Transition(
            "notice",
            "close_notice_delegated",
            "township_review",
            "公示期满无异议，乡镇审核确认",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("notice_over", "township_route"),
        ),
        Transition("objection", "reinvestigate", "investigating", "重新调查", Perm.CASE_REVIEW_TOWNSHIP),
        Transition(
            "objection",
            "appraisal_upheld",
            "county_review",
            "民主评议后维持初审意见，报县级",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("reasons_given", "county_route"),
        ),
        Transition(
            "objection",
            "appraisal_upheld_delegated",
            "township_review",
            "民主评议后维持初审意见，乡镇审核确认",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("reasons_given", "township_route"),
        ),
        *_county_decision(("calculation_eligible", "county_visit_if_sampled")),
        Transition(
            "township_review",
            "approve_township",
            "approved",
            "乡镇审核确认：批准",
            Perm.CASE_APPROVE_TOWNSHIP,
            ("calculation_eligible",),
        ),
        Transition(
            "township_review",
            "refuse_township",
            "refusal_notice",
            "乡镇审核确认：不予批准",
            Perm.CASE_APPROVE_TOWNSHIP,
            ("reasons_given",),
        ),
        *_refusal_tail(),
        *_withdrawals({s: _DIBAO_STATES[s] for s in WITHDRAW_FROM if s in _DIBAO_STATES}),
    )
    township_only = {
        "close_notice_delegated",
        "appraisal_upheld_delegated",
        "approve_township",
        "refuse_township",
    }
    return tuple(t for t in all_transitions if delegable or t.action not in township_only)


DIBAO = Workflow(
    code="dibao",
    label="最低生活保障审核确认",
    programme="dibao",
    states=_DIBAO_STATES,
    total_limit_working_days=30,
    public_notice=True,
    items=("dibao",),
    transitions=_notice_transitions(delegable=True),
)

# 特困人员 (民发〔2021〕43号): 乡镇15个工作日内调查并提出初审意见 -> 公示7天 -> 县级15个工作日内审核确认，
# 入户抽查比例不低于30% -> 次月起供养。
_EXTREME_STATES = _states(
    INCOMPLETE,
    State("accepted", "已受理，待启动调查", "township", ("working", 3), "受理后及时启动调查"),
    State(
        "investigating",
        "调查核实并提出初审意见",
        "township",
        ("working", 15),
        "受理之日起15个工作日内完成调查、提出初审意见",
    ),
    State("verifying", "家庭经济状况核对", "county", ("working", 3), "县级核对机构3个工作日内启动核对"),
    State("opinion", "乡镇（街道）提出初审意见", "township", ("working", 3), "核对结果返回后提出初审意见"),
    State("notice", "村（居）公示", "village", ("calendar", 7), "公示期7天（自然日）"),
    State("objection", "公示有异议，待处理", "township", ("working", 5), "重新调查核实"),
    State(
        "county_review",
        "县级审核确认（入户抽查不少于30%）",
        "county",
        ("working", 15),
        "15个工作日内审核确认",
    ),
    *COMMON_FINAL,
)
EXTREME_POVERTY = Workflow(
    code="extreme_poverty",
    label="特困人员救助供养审核确认",
    programme="extreme_poverty",
    states=_EXTREME_STATES,
    total_limit_working_days=40,
    public_notice=True,
    items=("extreme_poverty",),
    transitions=_notice_transitions(delegable=False),
)

# 临时救助（急难型）: 先行救助（乡镇审批权限内直接救助，小额3个工作日内），事后补齐手续；超出乡镇权限报县级。
_EMERGENCY_STATES = _states(
    State(
        "accepted",
        "已受理，先行救助",
        "township",
        ("working", 3),
        "急难情形先行救助，小额救助3个工作日内发放",
    ),
    State("aided", "已先行救助，补齐手续", "township", ("working", 10), "10个工作日内补齐调查和审批手续"),
    State("county_review", "县级审批（超出乡镇权限）", "county", ("working", 10), "10个工作日内审批"),
    *COMMON_FINAL,
)
TEMPORARY_EMERGENCY = Workflow(
    code="temporary_emergency",
    label="临时救助（急难型）",
    programme="temporary_assistance",
    states=_EMERGENCY_STATES,
    total_limit_working_days=20,
    items=("temporary_emergency",),
    transitions=(
        Transition(
            "accepted",
            "aid_first",
            "aided",
            "先行救助（乡镇权限内）",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("calculation_eligible", "within_township_limit"),
        ),
        Transition(
            "accepted",
            "refer_to_county",
            "county_review",
            "超出乡镇权限，报县级审批",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("calculation_eligible",),
        ),
        Transition(
            "aided",
            "complete_paperwork",
            "approved",
            "补齐手续，确认救助",
            Perm.CASE_APPROVE_TOWNSHIP,
            ("visit_recorded",),
        ),
        Transition(
            "county_review",
            "approve",
            "approved",
            "县级审批：批准",
            Perm.CASE_APPROVE_COUNTY,
            ("calculation_eligible",),
        ),
        Transition(
            "county_review",
            "refuse",
            "refusal_notice",
            "县级审批：不予批准",
            Perm.CASE_APPROVE_COUNTY,
            ("reasons_given",),
        ),
        Transition(
            "accepted",
            "refuse_township",
            "refusal_notice",
            "不予救助（说明理由）",
            Perm.CASE_REVIEW_TOWNSHIP,
            ("reasons_given",),
        ),
        *_refusal_tail(),
        Transition("accepted", "withdraw", "withdrawn", "申请人撤回申请", Perm.CASE_INTAKE),
    ),
)

# 临时救助（支出型）、残疾人两项补贴、孤儿/事实无人抚养儿童（不公示）、高龄津贴、医疗救助:
# 受理 -> 乡镇调查审核 -> 乡镇决定（权限内/已下放）或县级审核确认。
_REVIEW_STATES = _states(
    INCOMPLETE,
    State("accepted", "已受理，待调查", "township", ("working", 3), "受理后3个工作日内启动调查"),
    State("investigating", "调查审核", "township", ("working", 15), "15个工作日内完成调查并提出审核意见"),
    State("township_review", "乡镇（街道）审批", "township", ("working", 5), "5个工作日内审批"),
    State("county_review", "县级审核确认", "county", ("working", 15), "15个工作日内审核确认"),
    *COMMON_FINAL,
)


def _review_workflow(code: str, label: str, programme: str, items: tuple[str, ...], total: int) -> Workflow:
    return Workflow(
        code=code,
        label=label,
        programme=programme,
        states=_REVIEW_STATES,
        total_limit_working_days=total,
        items=items,
        transitions=(
            COMPLETE_MATERIALS,
            Transition(
                "accepted",
                "start_investigation",
                "investigating",
                "启动调查核实",
                Perm.CASE_INVESTIGATE,
                ("investigator_level",),
            ),
            Transition(
                "investigating",
                "submit_township",
                "township_review",
                "提出审核意见，乡镇审批",
                Perm.CASE_REVIEW_TOWNSHIP,
                ("visit_recorded", "township_route"),
            ),
            Transition(
                "investigating",
                "submit_county",
                "county_review",
                "提出审核意见，报县级",
                Perm.CASE_REVIEW_TOWNSHIP,
                ("visit_recorded", "county_route"),
            ),
            Transition(
                "investigating",
                "propose_refusal",
                "refusal_notice",
                "不符合条件（说明理由）",
                Perm.CASE_REVIEW_TOWNSHIP,
                ("reasons_given",),
            ),
            Transition(
                "township_review",
                "approve_township",
                "approved",
                "乡镇审批：批准",
                Perm.CASE_APPROVE_TOWNSHIP,
                ("calculation_eligible", "within_township_limit"),
            ),
            Transition(
                "township_review",
                "refer_to_county",
                "county_review",
                "超出乡镇权限，报县级",
                Perm.CASE_APPROVE_TOWNSHIP,
            ),
            Transition(
                "township_review",
                "refuse_township",
                "refusal_notice",
                "乡镇审批：不予批准",
                Perm.CASE_APPROVE_TOWNSHIP,
                ("reasons_given",),
            ),
            *_county_decision(("calculation_eligible",)),
            *_refusal_tail(),
            *_withdrawals(_REVIEW_STATES),
        ),
    )


TEMPORARY_EXPENSE = _review_workflow(
    "temporary_expense", "临时救助（支出型）", "temporary_assistance", ("temporary_expense",), 20
)
DISABILITY = _review_workflow(
    "disability", "残疾人两项补贴", "disability_subsidy", ("disability_living", "disability_care"), 20
)
CHILD = _review_workflow(
    "child", "孤儿和事实无人抚养儿童保障（不公示）", "child_allowance", ("orphan", "unsupported_child"), 30
)
ELDERLY = _review_workflow("elderly", "高龄津贴", "elderly_allowance", ("elderly_allowance",), 20)
MEDICAL = _review_workflow("medical", "医疗救助", "medical_assistance", ("medical_assistance",), 20)

# 其他部门事项（转办）: 窗口接收 -> 转承办部门 -> 跟踪反馈 -> 告知申请人。
_TRANSFER_STATES = _states(
    State("received", "窗口已接收，待转办", "township", ("working", 1), "接收后1个工作日内转承办部门"),
    State(
        "transferred", "已转办，待部门反馈", "department", ("working", 10), "承办部门10个工作日内反馈办理结果"
    ),
    State("closed", "已反馈并告知申请人", "township", final=True),
    State("withdrawn", "申请人撤回", "applicant", final=True),
)
TRANSFER = Workflow(
    code="transfer",
    label="转办事项",
    programme="",
    states=_TRANSFER_STATES,
    total_limit_working_days=15,
    transitions=(
        Transition("received", "transfer", "transferred", "转交承办部门", Perm.CASE_INTAKE),
        Transition(
            "transferred",
            "record_feedback",
            "closed",
            "登记部门反馈并告知申请人",
            Perm.CASE_INTAKE,
            ("feedback_given",),
        ),
        Transition("received", "withdraw", "withdrawn", "申请人撤回申请", Perm.CASE_INTAKE),
    ),
)

SUBMITTED = State(
    "submitted", "网上申请，待窗口受理", "township", ("working", 2), "2个工作日内审查材料并受理或一次性告知"
)


def _with_online_intake(workflow: Workflow) -> Workflow:
    """Online applications start as "submitted": the window accepts them, or sends the one-time notice
    of everything missing (一次性告知)."""
    states = {SUBMITTED.code: SUBMITTED, **workflow.states}
    if "incomplete" not in states:
        states["incomplete"] = INCOMPLETE
    extra: tuple[Transition, ...] = (
        Transition(
            "submitted", "accept", "accepted", "审查材料齐全，受理", Perm.CASE_INTAKE, ("materials_complete",)
        ),
        Transition("submitted", "notify_missing", "incomplete", "材料不全，一次性告知", Perm.CASE_INTAKE),
        Transition("submitted", "withdraw", "withdrawn", "申请人撤回申请", Perm.CASE_INTAKE),
    )
    if not workflow.transition("incomplete", "complete_materials"):
        extra += (COMPLETE_MATERIALS,)
    return Workflow(
        code=workflow.code,
        label=workflow.label,
        programme=workflow.programme,
        states=states,
        transitions=workflow.transitions + extra,
        total_limit_working_days=workflow.total_limit_working_days,
        public_notice=workflow.public_notice,
        items=workflow.items,
    )


WORKFLOWS: dict[str, Workflow] = {
    w.code: _with_online_intake(w) if w is not TRANSFER else w
    for w in (
        DIBAO,
        EXTREME_POVERTY,
        TEMPORARY_EMERGENCY,
        TEMPORARY_EXPENSE,
        DISABILITY,
        CHILD,
        ELDERLY,
        MEDICAL,
        TRANSFER,
    )
}
WORKFLOW_FOR_ITEM: dict[str, Workflow] = {item: w for w in WORKFLOWS.values() for item in w.items}


def workflow_for_item(item_code: str, *, transfer: bool) -> Workflow:
    """The item's workflow; items of other departments (intake_mode=transfer) use the transfer flow."""
    return WORKFLOWS["transfer"] if transfer else WORKFLOW_FOR_ITEM[item_code]


def state_label(workflow_code: str, state: str) -> str:
    workflow = WORKFLOWS.get(workflow_code)
    return workflow.states[state].label if workflow and state in workflow.states else state
