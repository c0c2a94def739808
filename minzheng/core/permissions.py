"""The permission vocabulary. Roles (minzheng.org.roles) are named sets of these permissions.

Permissions say what an account may do; data scope (its office's jurisdiction) says to which
records. Both are checked for every read and write.
"""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    # Organisation
    ORG_VIEW = "org.view"
    STAFF_MANAGE = "org.manage_staff"
    DIVISION_MANAGE = "org.manage_divisions"
    # Household registry
    HOUSEHOLD_VIEW = "registry.view_household"
    HOUSEHOLD_CHANGE = "registry.change_household"
    ID_NUMBER_VIEW_FULL = "registry.view_full_id_number"
    # Cases (intake and review)
    CASE_VIEW = "cases.view"
    CASE_INTAKE = "cases.intake"
    CASE_INVESTIGATE = "cases.investigate"
    CASE_REVIEW_TOWNSHIP = "cases.review_township"
    CASE_APPROVE_TOWNSHIP = "cases.approve_township"
    CASE_REVIEW_COUNTY = "cases.review_county"
    CASE_APPROVE_COUNTY = "cases.approve_county"
    # Rules and parameters
    PARAMETER_PROPOSE = "rules.propose_parameter"
    PARAMETER_APPROVE = "rules.approve_parameter"
    # Payments
    PAYMENT_VIEW = "payments.view"
    PAYROLL_RUN = "payments.run_payroll"
    PAYROLL_APPROVE = "payments.approve_payroll"
    # Reports
    REPORT_VIEW = "reports.view"
    REPORT_MANAGE = "reports.manage"
    EXPORT = "reports.export"
    # Security and audit (三员: kept on separate accounts)
    SYSTEM_MANAGE = "system.manage"
    SECURITY_MANAGE = "security.manage"
    AUDIT_VIEW = "audit.view"
    # Other departments as users (协作部门): their transferred items and status inquiries
    DEPARTMENT_FEEDBACK = "cases.department_feedback"
    STATUS_INQUIRY = "inquiries.status_inquiry"
    # Grassroots capacity (基层民政服务能力): norms, resources, training, purchased services, supervision
    OVERSIGHT_VIEW = "oversight.view"
    OVERSIGHT_RECORD = "oversight.record"
    OVERSIGHT_NORMS = "oversight.manage_norms"
    OVERSIGHT_PURCHASE = "oversight.manage_purchases"
    OVERSIGHT_SUPERVISE = "oversight.supervise"
    # The public's voice (群众诉求, 12345 work orders, service-quality receipts)
    FEEDBACK_VIEW = "feedback.view"
    FEEDBACK_INTAKE = "feedback.intake"
    FEEDBACK_HANDLE = "feedback.handle"
    FEEDBACK_DISPATCH = "feedback.dispatch"
    # Low-income population monitoring and active discovery (低收入人口动态监测, 主动发现)
    MONITORING_VIEW = "monitoring.view"
    MONITORING_HANDLE = "monitoring.handle"
    MONITORING_MANAGE = "monitoring.manage"
    # The plan's indicators (规划指标): figures entered with evidence, approved by a second person
    PLAN_ENTER = "plans.enter"
    PLAN_APPROVE = "plans.approve"


PERMISSION_LABELS: dict[Perm, str] = {
    Perm.ORG_VIEW: "查看组织机构",
    Perm.STAFF_MANAGE: "管理工作人员账号",
    Perm.DIVISION_MANAGE: "管理行政区划",
    Perm.HOUSEHOLD_VIEW: "查看家庭户籍档案",
    Perm.HOUSEHOLD_CHANGE: "登记和修改家庭档案",
    Perm.ID_NUMBER_VIEW_FULL: "查看完整身份证号",
    Perm.CASE_VIEW: "查看申请案件",
    Perm.CASE_INTAKE: "受理申请",
    Perm.CASE_INVESTIGATE: "入户调查",
    Perm.CASE_REVIEW_TOWNSHIP: "乡镇初审",
    Perm.CASE_APPROVE_TOWNSHIP: "乡镇审核确认",
    Perm.CASE_REVIEW_COUNTY: "县级审核",
    Perm.CASE_APPROVE_COUNTY: "县级审批确认",
    Perm.PARAMETER_PROPOSE: "提出标准参数",
    Perm.PARAMETER_APPROVE: "批准标准参数",
    Perm.PAYMENT_VIEW: "查看资金发放",
    Perm.PAYROLL_RUN: "生成发放名册",
    Perm.PAYROLL_APPROVE: "审批发放名册",
    Perm.REPORT_VIEW: "查看统计报表",
    Perm.REPORT_MANAGE: "重算和冻结月度统计",
    Perm.EXPORT: "导出数据",
    Perm.SYSTEM_MANAGE: "系统管理",
    Perm.SECURITY_MANAGE: "安全管理",
    Perm.AUDIT_VIEW: "审计查询",
    Perm.DEPARTMENT_FEEDBACK: "反馈本部门承办的转办事项",
    Perm.STATUS_INQUIRY: "查询服务对象的救助身份",
    Perm.OVERSIGHT_VIEW: "查看基层能力建设达标情况",
    Perm.OVERSIGHT_RECORD: "登记人员、经费、设施和培训",
    Perm.OVERSIGHT_NORMS: "管理能力建设标准和岗前培训规则",
    Perm.OVERSIGHT_PURCHASE: "管理政府购买服务",
    Perm.OVERSIGHT_SUPERVISE: "督导检查和月通报",
    Perm.MONITORING_VIEW: "查看监测预警",
    Perm.MONITORING_HANDLE: "核实处置预警、报告急难情况",
    Perm.MONITORING_MANAGE: "导入部门数据、管理预警规则和监测对象",
    Perm.FEEDBACK_VIEW: "查看群众诉求",
    Perm.FEEDBACK_INTAKE: "登记群众诉求",
    Perm.FEEDBACK_HANDLE: "签收、退单和答复诉求",
    Perm.FEEDBACK_DISPATCH: "派单、回访和办结诉求",
    Perm.PLAN_ENTER: "填报规划指标",
    Perm.PLAN_APPROVE: "审核和发布规划指标",
}
