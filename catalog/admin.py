from django.contrib import admin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from catalog.models import Category


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category, exclude=["full_name"])
    list_display = ["name", "google_id", "full_name"]
    search_fields = ["name", "full_name", "=google_id"]
    list_per_page = 200
