"""Read queries for the site catalogue's pages ("Manage sites")."""

from django.db.models import Count, Q, QuerySet

from access_requests.models import AccessGrant, Site


def sites_with_use() -> QuerySet[Site]:
    """Every site, offered ones first, each with how many current grants (awaiting
    provisioning or active) name it, in one query."""
    return Site.objects.annotate(
        current_grants=Count("grants", filter=Q(grants__status__in=AccessGrant.Status.current()))
    ).order_by("-is_active", "name")


def site_current_grants(*, site: Site) -> int:
    """How many current grants name this site: the retire page says they keep it."""
    return site.grants.filter(status__in=AccessGrant.Status.current()).count()
