fn main() {
    // A panic is a bug in pqsim, never the user's input: it ends with one line on stderr and
    // exit code 1 (a simulation that could not finish), with no backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if msg.contains("failed printing to stdout") {
            // The reader went away (`pqsim run ... | head`): nothing left to say.
            std::process::exit(0);
        }
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("pqsim: internal error{at}: {msg} (a bug in pqsim: please report it with the command line)");
    }));
    let args: Vec<String> = std::env::args().collect();
    let code = std::panic::catch_unwind(|| pqsim::commands::main_with_args(args)).unwrap_or(1);
    std::process::exit(code);
}
