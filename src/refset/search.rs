//! See the module documentation in `refset`.
