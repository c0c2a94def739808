from django.urls import include, path

from minzheng.api.main import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("minzheng.web.urls")),
]

handler400 = "minzheng.web.views.bad_request"
handler403 = "minzheng.web.views.permission_denied"
handler404 = "minzheng.web.views.not_found"
handler500 = "minzheng.web.views.server_error"
