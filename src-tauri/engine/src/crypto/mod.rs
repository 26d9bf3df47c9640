//! Crypto behind one seam per protocol. OpenPGP (sequoia) comes first; the
//! list's keys and the members' keys are checked here, before anything is
//! stored or used.

pub mod openpgp;
