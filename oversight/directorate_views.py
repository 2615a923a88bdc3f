""" "Access in your directorate": a director reviews who among their people holds access,
and opens each grant (where Revoke is offered); admins and auditors choose a directorate."""

import dataclasses

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from .drawn_forms import filter_form_html
from .forms import DirectorateAccessForm
from .pagination import BadCursor, link
from .selectors import directorate as selectors, register as register_selectors


@require_safe
def directorate_access(request):
    directorates = list(selectors.directorates_for(user=request.user))
    if not directorates:
        raise PermissionDenied("Only directors, admins and auditors can see a directorate's access")
    form = DirectorateAccessForm(request.GET or None, directorates=directorates)
    query = form.filters_as_query() if form.is_bound else {}
    context = {
        "form": form,
        "query": query,
        "many": len(directorates) > 1,
        # The drawing depends on the filters and on the directorates this person may choose.
        "filter_form_html": filter_form_html(
            form,
            {**query, " directorates": ",".join(str(d.pk) for d in directorates)},
            "directorate-access",
        ),
    }
    if not form.is_bound or form.is_valid():
        if not form.is_bound:
            form.cleaned_data = {}
        chosen = {
            "directorate": form.chosen_directorate(),
            "tier": form.cleaned_data.get("tier") or "",
            "ending_soon": bool(form.cleaned_data.get("ending_soon")),
        }
        directorate = chosen["directorate"]
        try:
            found = selectors.directorate_page(
                **chosen,
                after=request.GET.get("after") or None,
                before=request.GET.get("before") or None,
            )
        except BadCursor:
            raise Http404("That page of results does not exist") from None
        page = dataclasses.replace(
            found.page, rows=selectors.directorate_rows(found.page.rows, today=timezone.localdate())
        )
        context.update(
            directorate=directorate,
            page=page,
            count=found.count,
            count_cap=register_selectors.COUNT_CAP,
            next_url=page.next_cursor
            and link("oversight:directorate-access", query, after=page.next_cursor),
            previous_url=page.previous_cursor
            and link("oversight:directorate-access", query, before=page.previous_cursor),
            ending_soon_days=selectors.ENDING_SOON_DAYS,
        )
    return render(request, "oversight/directorate_access.html", context)
