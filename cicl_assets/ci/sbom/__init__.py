"""Software bills of materials (CycloneDX and SPDX JSON) -> ci_sbom_components."""
