//! Dropping root once the capture handles are open.
//!
//! Capturing needs root (or `cap_net_raw`); parsing hostile packets, drawing
//! and writing screenshots do not. So a process started as root opens its
//! sources first and then becomes an unprivileged user (`--user NAME`,
//! `nobody` by default) before any packet is parsed or any window opens.
//! Keeping root takes an explicit `--user root`. A process started by an
//! ordinary user (the `setcap` route) has nothing to drop.
//!
//! A process with live captures keeps `cap_net_raw` and `cap_net_admin` (and
//! nothing else) across the drop: an interface that goes away and comes back
//! (a link flap, a re-created VLAN or veth) needs a new capture socket, and
//! without them the capture would stay stalled until a restart. That is what
//! the `setcap` route grants anyway.
//!
//! The drop leaves nothing to climb back with: no supplementary groups (not
//! even the user's own: none is needed, and every group is a way in), a
//! capability bounding set of the kept two at most (so not even a program
//! with file capabilities, were one ever run, could gain more), and
//! `no_new_privs` (no setuid or file-capability program can raise anything
//! after an `execve`). All three are per thread in Linux, so the drop runs
//! before the sources' threads start, which inherit them.

use nix::unistd::{Gid, Uid, User, getegid, geteuid, getgroups, getuid, setgid, setgroups, setuid};

/// The user a root process becomes when `--user` is not given.
pub const DEFAULT_USER: &str = "nobody";

/// What happened to the process's privileges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Privileges {
    /// Started unprivileged: nothing to drop.
    NotRoot,
    /// Root kept on purpose (`--user root`).
    KeptRoot,
    /// Now running as this user.
    Dropped {
        /// The user's name.
        user: String,
        /// Its uid.
        uid: u32,
        /// Its primary gid.
        gid: u32,
    },
}

/// Why privileges could not be dropped; each names the fix.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// `--user` names no account.
    #[error("--user {0}: no such user; name an existing unprivileged account (e.g. nobody)")]
    NoSuchUser(String),
    /// The account database could not be read.
    #[error("cannot look up user {0}: {1}")]
    Lookup(String, nix::Error),
    /// A set*id call failed.
    #[error(
        "cannot switch to user {user} ({step}: {source}); run as that user with `setcap cap_net_raw,cap_net_admin=eip` on the binary instead"
    )]
    Switch {
        /// The target user.
        user: String,
        /// Which call failed.
        step: &'static str,
        /// The error.
        source: nix::Error,
    },
    /// The capture capabilities could not be kept across the switch.
    #[error(
        "cannot keep the capture capabilities as user {user} ({source}); run as that user with `setcap cap_net_raw,cap_net_admin=eip` on the binary instead"
    )]
    Capabilities {
        /// The target user.
        user: String,
        /// The error.
        source: caps::errors::CapsError,
    },
    /// `no_new_privs` could not be set (a kernel older than 3.5).
    #[error("cannot set no_new_privs ({0}); refusing to run without it")]
    NoNewPrivs(nix::Error),
    /// A capability could not be taken out of the bounding set.
    #[error(
        "cannot drop capabilities from the bounding set before becoming {user} ({source}); refusing to run"
    )]
    Bounding {
        /// The target user.
        user: String,
        /// The error.
        source: caps::errors::CapsError,
    },
    /// After switching, root could be regained or a group was kept: refuse to go on.
    #[error(
        "dropping root to {0} did not stick (uid 0 could be regained, or a group was kept); refusing to run"
    )]
    NotDropped(String),
}

/// Whether [`drop_root`] with `user` will change this process's user, so a
/// command can open what it will write (as root) before the drop.
pub fn will_drop(user: Option<&str>) -> bool {
    geteuid().is_root() && user != Some("root")
}

/// Drops root to `user` (default [`DEFAULT_USER`]) when the process runs as
/// root; `Some("root")` keeps it. Call after every capture handle and
/// listening socket is open and before packets are parsed, on the thread
/// that starts the others (see the module comment). Supplementary groups are
/// cleared and the group is set before the user, so no root group
/// membership survives; the bounding set is cut to what is kept and
/// `no_new_privs` is set. With `capture`, the process keeps only the
/// capabilities a capture needs to reopen (see the module comment).
pub fn drop_root(user: Option<&str>, capture: bool) -> Result<Privileges, PrivilegeError> {
    if !geteuid().is_root() {
        // Nothing to drop (the `setcap` route), but nothing to gain either:
        // no program run from here could raise a privilege.
        nix::sys::prctl::set_no_new_privs().map_err(PrivilegeError::NoNewPrivs)?;
        return Ok(Privileges::NotRoot);
    }
    let name = user.unwrap_or(DEFAULT_USER);
    if name == "root" {
        return Ok(Privileges::KeptRoot);
    }
    let account = User::from_name(name)
        .map_err(|e| PrivilegeError::Lookup(name.to_string(), e))?
        .ok_or_else(|| PrivilegeError::NoSuchUser(name.to_string()))?;
    if account.uid.is_root() {
        return Ok(Privileges::KeptRoot);
    }
    let switch = |step: &'static str| {
        let user = name.to_string();
        move |source| PrivilegeError::Switch { user, step, source }
    };
    let keep = |e| PrivilegeError::Capabilities {
        user: name.to_string(),
        source: e,
    };
    if capture {
        // Permitted capabilities survive setuid only with keep-caps set.
        caps::securebits::set_keepcaps(true).map_err(keep)?;
    }
    setgroups(&[]).map_err(switch("setgroups"))?;
    // While root still has CAP_SETPCAP: only what is kept stays in reach.
    for cap in caps::all() {
        let kept = capture && CAPTURE_CAPABILITIES.contains(&cap);
        if !kept && caps::has_cap(None, caps::CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, caps::CapSet::Bounding, cap).map_err(bounding(name))?;
        }
    }
    setgid(account.gid).map_err(switch("setgid"))?;
    setuid(account.uid).map_err(switch("setuid"))?;
    if capture {
        let capture_caps = CAPTURE_CAPABILITIES.into_iter().collect();
        caps::set(None, caps::CapSet::Permitted, &capture_caps).map_err(keep)?;
        caps::set(None, caps::CapSet::Effective, &capture_caps).map_err(keep)?;
        caps::clear(None, caps::CapSet::Inheritable).map_err(keep)?;
        caps::securebits::set_keepcaps(false).map_err(keep)?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(switch("no_new_privs"))?;
    if setuid(Uid::from_raw(0)).is_ok() || getuid().is_root() || geteuid().is_root() {
        return Err(PrivilegeError::NotDropped(name.to_string()));
    }
    if !getgroups().map_err(switch("getgroups"))?.is_empty() {
        return Err(PrivilegeError::NotDropped(name.to_string()));
    }
    if getegid() == Gid::from_raw(0) && account.gid.as_raw() != 0 {
        return Err(PrivilegeError::NotDropped(name.to_string()));
    }
    Ok(Privileges::Dropped {
        user: name.to_string(),
        uid: account.uid.as_raw(),
        gid: account.gid.as_raw(),
    })
}

/// The error for a capability that would not leave the bounding set.
fn bounding(user: &str) -> impl FnOnce(caps::errors::CapsError) -> PrivilegeError {
    let user = user.to_string();
    move |source| PrivilegeError::Bounding { user, source }
}

/// What a capture needs to open a socket again: the same as the `setcap` route.
const CAPTURE_CAPABILITIES: [caps::Capability; 2] =
    [caps::Capability::CAP_NET_RAW, caps::Capability::CAP_NET_ADMIN];

/// Drops root as [`drop_root`] does. Silent when it drops (commands' output
/// and one-line errors stay as they are; `ps` shows the user); warns on
/// standard error when root is kept on purpose.
pub fn drop_root_and_report(user: Option<&str>, capture: bool) -> anyhow::Result<()> {
    if drop_root(user, capture)? == Privileges::KeptRoot {
        log::warn!("running as root (--user root); packets are parsed with full privileges");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_user_is_a_clear_error_before_anything_changes() {
        if !geteuid().is_root() {
            assert_eq!(
                drop_root(Some("no-such-user-xyz"), false).ok(),
                Some(Privileges::NotRoot)
            );
            return;
        }
        let e = drop_root(Some("no-such-user-xyz"), false).expect_err("no such user");
        assert!(e.to_string().contains("no such user"), "{e}");
        assert!(geteuid().is_root(), "nothing was dropped");
    }

    #[test]
    fn root_is_kept_only_when_asked_by_name() {
        if geteuid().is_root() {
            assert_eq!(drop_root(Some("root"), false).ok(), Some(Privileges::KeptRoot));
        }
    }
}
