from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    name = "minzheng.inquiries"
    label = "inquiries"
    verbose_name = "救助身份查询"
