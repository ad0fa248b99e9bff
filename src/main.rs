#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    ifs_connect::cli::main()
}
