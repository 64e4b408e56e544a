//! meshvet: an offline static analyzer for Istio traffic configuration kept in Git.
pub mod load;
pub mod source;
pub mod model;
