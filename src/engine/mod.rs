//! engine layer
