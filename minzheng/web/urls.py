from django.contrib.auth import views as auth_views
from django.urls import path

from minzheng.web import (
    audit_views,
    cases_public_views,
    cases_views,
    catalogue_views,
    org_views,
    registry_excel_views,
    registry_views,
    rules_views,
    views,
    workdays_views,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Public service guides (办事指南): no login.
    path("guide/", catalogue_views.guide_list, name="guide"),
    path("guide/<slug:code>/", catalogue_views.guide_item, name="guide_item"),
    # Public case pages (网上申请, 办理进度查询, 村（居）公示栏): no login.
    path("apply/", cases_public_views.apply_online, name="apply"),
    path("apply/done/", cases_public_views.apply_done, name="apply_done"),
    path("status/", cases_public_views.status_lookup, name="status"),
    path("notices/", cases_public_views.notice_boards, name="notice_boards"),
    path("notices/<str:code>/", cases_public_views.village_notices, name="village_notices"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("households/", registry_views.household_list, name="households"),
    path("households/new/", registry_views.household_create, name="household_create"),
    path("households/import/", registry_excel_views.household_import, name="household_import"),
    path(
        "households/import/template.xlsx",
        registry_excel_views.import_template,
        name="household_import_template",
    ),
    path("households/imports/<int:job_id>/", registry_excel_views.import_job, name="household_import_job"),
    path(
        "households/imports/<int:job_id>/errors.xlsx",
        registry_excel_views.import_errors,
        name="household_import_errors",
    ),
    path("households/export.xlsx", registry_excel_views.household_export, name="household_export"),
    path("households/<int:household_id>/", registry_views.household_detail, name="household"),
    path(
        "households/<int:household_id>/changes/", registry_views.household_changes, name="household_changes"
    ),
    path("households/<int:household_id>/edit/", registry_views.household_edit, name="household_edit"),
    path(
        "households/<int:household_id>/circumstances/new/",
        registry_views.circumstance_create,
        name="circumstance_create",
    ),
    path(
        "circumstances/<str:kind>/<int:record_id>/end/",
        registry_views.circumstance_end,
        name="circumstance_end",
    ),
    path("worklist/", cases_views.worklist, name="case_worklist"),
    path("intake/", cases_views.case_intake, name="case_intake"),
    path("cases/", cases_views.case_list, name="cases"),
    path("cases/<int:case_id>/", cases_views.case_detail, name="case"),
    path("cases/<int:case_id>/act/", cases_views.case_action, name="case_action"),
    path("cases/<int:case_id>/visits/", cases_views.case_visit, name="case_visit"),
    path("cases/<int:case_id>/calculate/", cases_views.case_calculate, name="case_calculate"),
    path("cases/<int:case_id>/materials/", cases_views.case_materials, name="case_materials"),
    path("cases/<int:case_id>/documents/", cases_views.case_document_upload, name="case_document_upload"),
    path(
        "cases/<int:case_id>/documents/<int:document_id>/",
        cases_views.case_document,
        name="case_document",
    ),
    path("cases/<int:case_id>/print/<slug:document>/", cases_views.case_print, name="case_print"),
    path("overdue/", cases_views.warnings, name="case_warnings"),
    path("time-limits/", cases_views.time_limits, name="case_time_limits"),
    path("notice-management/", cases_views.notice_list, name="case_notices"),
    path("notice-management/<int:notice_id>/", cases_views.notice_print, name="notice_print"),
    path("conflicts/", cases_views.conflicts, name="case_conflicts"),
    path("persons/", registry_views.person_list, name="persons"),
    path("persons/duplicates/", registry_views.likely_duplicates, name="person_duplicates"),
    path("persons/<int:person_id>/id-number/", registry_views.person_reveal, name="person_reveal"),
    path("org/divisions/", org_views.division_list, name="divisions"),
    path("org/staff/", org_views.staff_list, name="staff"),
    path("org/staff/new/", org_views.staff_create, name="staff_create"),
    path("org/staff/<int:staff_id>/", org_views.staff_detail, name="staff_detail"),
    path("audit/", audit_views.audit_search, name="audit"),
    path("workdays/", workdays_views.calendar_page, name="workdays"),
    path("rules/parameters/", rules_views.parameter_list, name="parameters"),
    path("rules/parameters/<str:name>/", rules_views.parameter_detail, name="parameter_detail"),
    path("rules/proposals/", rules_views.proposal_list, name="parameter_proposals"),
    path("rules/whatif/", rules_views.whatif, name="whatif"),
    path("rules/proposals/<int:value_id>/decide/", rules_views.proposal_decide, name="parameter_decide"),
]
