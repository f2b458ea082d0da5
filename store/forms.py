from __future__ import annotations

from django import forms


class HoldForm(forms.Form):
    variant = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=20, initial=1)
    hours = forms.IntegerField(min_value=1, max_value=72, initial=4, label="Hold for (hours)")
    customer = forms.CharField(max_length=80, label="Customer name or phone")


class CountForm(forms.Form):
    code = forms.CharField(max_length=64, label="SKU or barcode")
    counted = forms.IntegerField(min_value=0, label="Units on the shelf")
    reason = forms.CharField(max_length=120, initial="shelf count")


class ReceiveForm(forms.Form):
    transfer = forms.IntegerField(widget=forms.HiddenInput)
