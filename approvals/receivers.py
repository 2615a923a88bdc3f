"""The business case app cannot import this one; it announces a withdrawal instead."""

from django.dispatch import receiver

from access_requests.signals import business_case_withdrawn

from . import services


@receiver(business_case_withdrawn, dispatch_uid="approvals_close_on_withdrawal")
def _close_approval_requests_of_withdrawn_case(sender, *, case, actor, client=None, **kwargs):
    services.approval_requests_withdraw(case=case, actor=actor, client=client)
