"""Read queries for business cases (`business_cases`), access grants (`grants`) and the
site catalogue (`sites`)."""
