//! End-to-end tests of issue 25's classes: see the module's tests.

#[allow(unused_imports)]
use crate::common::*;
