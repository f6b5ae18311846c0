"""Pipeline run records: cicl's run.json and CI providers' workflow webhooks -> ci_runs."""
