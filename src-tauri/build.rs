fn main() {
    // The window may call these commands and nothing else of the app; the
    // capability in capabilities/default.json grants them.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "lists",
        "set_paused",
        "forget_list",
        "check_now",
        "status",
        "held_posts",
        "resolve_held",
        "held_post",
        "members",
        "review_keys",
        "add_member",
        "set_member_key",
        "import_members",
        "remove_member",
        "trusted_authorities",
        "trust_authority",
        "remove_trusted_authority",
        "start_at_login",
        "set_start_at_login",
        "policy",
        "save_policy",
        "activity",
        "list_keys",
        "renew_list_key",
        "save_list_key",
        "save_renewal_request",
        "install_list_certificate",
        "mail_presets",
        "check_new_list",
        "test_account",
        "preview_list_key",
        "create_list",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build step failed");
}
