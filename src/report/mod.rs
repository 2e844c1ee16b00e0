//! report layer
