//! stub

mod common;
