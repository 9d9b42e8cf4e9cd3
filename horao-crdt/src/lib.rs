//! Delta-state CRDTs for HORAO (being built).
