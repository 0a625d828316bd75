//! rng (in progress)
