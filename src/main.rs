fn main() -> std::process::ExitCode {
    obd_agent::cli::main()
}
