//! dockerfile layer
