from django.urls import path

from compute import views

app_name = "compute"

urlpatterns = [
    path("", views.index, name="index"),
]
