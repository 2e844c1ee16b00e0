//! build layer
