//! Lists with keys, made as an owner makes them with `conclave-cli`, and
//! members with a gpg of their own.

use crate::Rig;
use crate::gpg::Gpg;
use crate::owner::Owner;

/// An OpenPGP list called `name` on the rig with a fresh list key; returns
/// its owner and the exported public key members import.
pub fn openpgp_list(prefix: &str, name: &str) -> (Owner, Vec<u8>) {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique(prefix),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        name,
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &owner.list]);
    let list_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();
    (owner, list_key)
}

/// A member with a gpg of their own (a key made a month ago, so tests may
/// sign as if days earlier) and the list's key imported; their key is given
/// to the owner when `with_key`.
pub fn gpg_member(owner: &Owner, address: &str, list_key: &[u8], with_key: bool) -> Gpg {
    let g = Gpg::new();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let month_ago = format!("{}", secs - 30 * 86_400);
    g.generate(
        &format!("Member <{address}>"),
        "future-default",
        "never",
        &["--faked-system-time", &month_ago],
    );
    assert!(g.run(&["--import"], Some(list_key)).status.success());
    if with_key {
        let file = g.home.path().join("key.asc");
        std::fs::write(&file, g.export(address)).unwrap();
        owner.ok(&[
            "member",
            "add",
            &owner.list,
            address,
            "--key",
            file.to_str().unwrap(),
        ]);
    } else {
        owner.ok(&["member", "add", &owner.list, address]);
    }
    g
}

/// The fingerprint of `who`'s key in `g`, as gpg prints it (40 hex digits).
pub fn fingerprint(g: &Gpg, who: &str) -> String {
    let listing = String::from_utf8(g.ok(&["--with-colons", "--list-keys", who])).unwrap();
    listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string()
}

/// A fingerprint in groups of four, as the list's note shows it.
pub fn grouped(fpr: &str) -> String {
    fpr.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}
