//! stub
mod common;
