fn main() {
    let code = pqsim::commands::main_with_args(std::env::args().collect());
    std::process::exit(code);
}
