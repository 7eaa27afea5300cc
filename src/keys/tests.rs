//! Tests of the keys module.
