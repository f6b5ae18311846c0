"""Signatures and attestations (Sigstore bundles, DSSE / in-toto statements, SLSA provenance)
-> ci_attestations, verified offline."""
