//! treepath
