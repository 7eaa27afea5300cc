//! The `shroud` command. All logic lives in the library; this binary parses
//! arguments, reads and writes files, prints, and maps errors to the exit
//! codes SOPS uses.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
