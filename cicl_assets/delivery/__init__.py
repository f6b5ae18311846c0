"""delivery domain: commits and the DORA figures of the deployment pipeline."""
