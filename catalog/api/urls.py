from django.urls import path

from catalog.api import views

urlpatterns = [
    path("categories/", views.CategoryListView.as_view(), name="category-list"),
]
