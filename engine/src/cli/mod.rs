//! The `tickforge` binary's subcommands that have grown past a few lines, one module each
//! (the binary's own code: the library crate does not see them).

pub(crate) mod journal;
