"""Business rules for business cases (`business_cases`) and access grants: the lifecycle
(`grants`), expiry (`grant_expiry`), safe use (`grant_safe_use`), renewal (`grant_renewal`)
and what their emails say (`grant_emails`)."""
