from django.urls import path

from . import directorate_views, views

app_name = "oversight"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("register.csv", views.register_csv, name="register-csv"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("audit-trail/", views.audit_trail, name="audit-trail"),
    path("audit-trail/<int:pk>/", views.audit_event, name="audit-event"),
    path("audit-trail.csv", views.audit_trail_csv, name="audit-trail-csv"),
    path("reports/", views.reports_page, name="reports"),
    path("reports.csv", views.report_csv, name="report-csv"),
    path("failed-emails/", views.failed_emails, name="failed-emails"),
    path("directorate/", directorate_views.directorate_access, name="directorate-access"),
]
