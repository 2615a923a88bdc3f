from crispy_forms_gds.templatetags.crispy_forms_gds import field_errors
from django import forms, template

register = template.Library()


@register.filter
def error_links(bound_field):
    """(anchor id, errors) pairs for the error summary.

    crispy-forms-gds numbers radio and checkbox inputs from 1 (`id_<name>_1`), and no
    element carries the field's own id, so their errors link to the first option.
    """
    widget = bound_field.field.widget
    options_widget = isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
    for anchor, errors in field_errors(bound_field):
        if options_widget and anchor == bound_field.auto_id:
            anchor = f"id_{bound_field.html_name}_1"
        yield anchor, errors
