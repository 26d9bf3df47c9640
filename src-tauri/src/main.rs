// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // SAFETY: no other thread runs yet.
    unsafe { conclave_engine::quiet_library_backtraces() };
    conclave_app::run();
}
