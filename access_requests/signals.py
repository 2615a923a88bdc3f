"""What the business case app announces to the apps above it, which it may not import.

`business_case_withdrawn` is sent inside `business_case_withdraw`'s transaction, with the
locked case, the actor and the client: a receiver's writes (approvals closes the case's
open approval requests and tells their approvers) commit or roll back with the withdrawal.
"""

from django.dispatch import Signal

# Sent with: case (the withdrawn BusinessCase, locked), actor, client (or None).
business_case_withdrawn = Signal()
