//! HORAO's replicated domain model (being built; see docs/ARCHITECTURE.md).
