//! tether host
