from __future__ import annotations

from decimal import Decimal

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


class TillAddForm(forms.Form):
    """A line scanned or typed at the till."""

    code = forms.CharField(max_length=64, label="Scan or type a SKU or barcode")
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)


class TillPointsForm(forms.Form):
    points = forms.IntegerField(min_value=0, label="Points to redeem")


class TillPayForm(forms.Form):
    tender = forms.ChoiceField(choices=[("card", "Card"), ("cash", "Cash")])
    amount = forms.DecimalField(
        min_value=Decimal("0"), max_digits=12, decimal_places=2, label="Amount taken"
    )
    reference = forms.CharField(max_length=100, required=False, label="Terminal reference (card)")
