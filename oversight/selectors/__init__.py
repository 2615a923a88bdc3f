"""Read-only queries for the oversight wing, one module per page: the register
(`register`, with its search in `search`), the audit trail (`audit_trail`) and a case's
file (`case_file`). What more than one of them reads lives in `people` (people by id) and
`distinct` (the distinct values of an indexed column).

Admins and auditors see everything, so nothing here scopes by user: the views check the
permission. Every query is shaped for large tables (200k grants, 2M audit events): joins
instead of per-row queries, index-friendly filters, no COUNT(*) over a whole table.
"""
