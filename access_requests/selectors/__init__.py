"""Read queries for business cases (`business_cases`) and access grants (`grants`)."""
