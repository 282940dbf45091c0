//! The single error type of the core. The Python bindings map each variant onto one class of
//! the `neuroplast.errors` hierarchy, so every user-reachable failure is typed.

/// Every failure the core can report. Variants carry a complete, user-facing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An array has the wrong number of elements or an inconsistent shape.
    #[error("{0}")]
    Shape(String),
    /// Data are invalid: empty, non-finite, labels out of range.
    #[error("{0}")]
    Data(String),
    /// A network specification is inconsistent.
    #[error("{0}")]
    Spec(String),
    /// A hyperparameter or argument is out of its valid range.
    #[error("{0}")]
    Config(String),
    /// A computation produced non-finite values or failed to converge.
    #[error("{0}")]
    Numerical(String),
    /// A structural edit cannot be applied.
    #[error("{0}")]
    InvalidMorphism(String),
    /// A request needs more memory or threads than the resource limits allow, or an
    /// allocation failed (see [`crate::limits`]).
    #[error("{0}")]
    Resource(String),
}

/// Result alias used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns `Err(Error::Config)` with `msg` unless `cond` holds.
pub(crate) fn ensure_config(cond: bool, msg: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::Config(msg()))
    }
}
