//! What the user sees: every printed line, made inert ([`text`]), tables and JSON
//! ([`output`]), progress bars on a terminal ([`progress`]), hints ([`hint`]), a failed
//! command's report ([`report`]), an interrupt reported like one ([`interrupt`]), and exit
//! statuses ([`exit`]).

pub mod exit;
pub mod hint;
pub mod interrupt;
pub mod output;
pub mod progress;
pub mod report;
pub mod text;
