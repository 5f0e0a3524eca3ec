"""The vouchers' use cases: ``ledger`` (grants, reversal, expiry, monthly settlement), ``statements`` and
``applications`` (schemes, applications, incubation vouchers). Import the module you need."""
