from django.contrib.auth import views as auth_views
from django.urls import include, path

from calls import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("calls/", include("calls.urls")),
]
