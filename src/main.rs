fn main() -> std::process::ExitCode {
    cloudscan::cli::run()
}
