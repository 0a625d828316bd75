//! connection (in progress)
