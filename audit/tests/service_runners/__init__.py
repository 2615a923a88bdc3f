"""The runners of test_every_service_writes_its_event, one module per group of services."""
