//! The packed-resources container format (work in progress).
