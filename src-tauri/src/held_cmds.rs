//! A held post opened in the window: its headers, its content (decrypted
//! in the engine, in memory, when it came encrypted to the list's key) and
//! what Approve and Reject would do.

use conclave_engine::agent::AgentError;
use conclave_engine::owner::{HeldView, held_view};
use tauri::State;

use crate::Shell;
use crate::commands::CommandError;

/// The store's own errors keep their codes (a held post resolved
/// elsewhere); the rest are said in the engine's words.
pub fn view_error(e: AgentError) -> CommandError {
    match e {
        AgentError::Store(e) => CommandError::from(e),
        other => CommandError {
            code: "held-view",
            message: other.to_string(),
        },
    }
}

/// Held post `id` of the list `address`, for the owner's eyes only.
#[tauri::command]
pub async fn held_post(
    shell: State<'_, Shell>,
    address: String,
    id: i64,
) -> Result<HeldView, CommandError> {
    held_view(&shell.data_dir, &address, id)
        .await
        .map_err(view_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_engine::store::StoreError;

    #[test]
    fn a_post_resolved_elsewhere_keeps_its_code() {
        let e = view_error(AgentError::Store(StoreError::NoSuchHeldPost {
            list: "l@example.org".into(),
            id: 3,
        }));
        assert_eq!(e.code, "held-not-found");
        let e = view_error(AgentError::NoListKey("l@example.org".into()));
        assert_eq!(e.code, "held-view");
        assert!(e.message.contains("list key generate"), "{}", e.message);
    }
}
