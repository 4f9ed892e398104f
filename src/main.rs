fn main() {
    let code = pqsim::cli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}
