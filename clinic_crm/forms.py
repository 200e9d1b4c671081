"""Form pieces more than one app uses."""

from django import forms


class FilterForm(forms.Form):
    """A list page's filters: small Bootstrap controls, selects styled as selects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
