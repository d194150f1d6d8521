//! `zse` command-line tool (filled in with the CLI step of the codec issue).
fn main() {
    eprintln!("zse: the decode/encode commands are not built yet");
    std::process::exit(2);
}
