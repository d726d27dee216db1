//! Exit statuses with a meaning of their own. Every failure exits 1, except for
//! `kernel check`, whose status is its answer: 0 ready, 1 not ready ([`NotReady`], after the
//! report is printed), 2 cannot be checked (an error carrying [`CannotCheck`]).

use std::process::ExitCode;

/// The kernel was checked and is not ready; the report says why, so nothing more is printed.
#[derive(Debug, thiserror::Error)]
#[error("the kernel is not ready")]
pub struct NotReady;

/// The kernel could not be checked: the context of the error that says why.
#[derive(Debug, thiserror::Error)]
#[error("cannot check {0}")]
pub struct CannotCheck(pub String);

/// The exit status of a command that failed with `error`.
pub fn status(error: &anyhow::Error) -> ExitCode {
    if error.downcast_ref::<CannotCheck>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
