//! `--capture-threads N`: one interface read by N capture threads through
//! Linux's `PACKET_FANOUT`, as Suricata and Zeek read a fast link with
//! AF_PACKET. Each thread has its own libpcap handle (its own TPACKET_V3
//! ring); the handles' sockets join one fanout group, and the kernel hands
//! every packet to exactly one of them, chosen by a hash of its flow, so no
//! packet is counted twice and each thread counts into its own shard.
//!
//! Why a hash and not the receiving CPU (`PACKET_FANOUT_CPU`): a veth, a tap
//! on one queue or a NIC without RSS receives on one CPU, which would put
//! every packet on one thread. Why no `PACKET_FANOUT_FLAG_DEFRAG`: it
//! reassembles fragments in the kernel and delivers one packet for the
//! datagram, so the maps would count other packets than tcpdump sees; each
//! packet counts on its own, so fragments on different threads are harmless.
//!
//! Each handle has the whole `--buffer-mb`, not a share of it: a hash need not
//! split evenly (one heavy flow all goes to one thread), and each ring must hold
//! a burst of what its thread is handed. The cost is N times the kernel memory,
//! as Suricata's `ring-size` and Zeek's `buffer_size` are per thread too.
//!
//! The group id: the first socket asks the kernel for an id no other group
//! in the network namespace uses (`PACKET_FANOUT_FLAG_UNIQUEID`, Linux 4.4),
//! the others join that id. So two scanwall processes (or Suricata) on the
//! same interface never join each other's group, which would split the
//! packets between them.

use std::os::fd::AsFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::super::SourceError;

/// The most capture threads an interface may have: the kernel allows 256
/// sockets in a group, but past a few threads a core each the receive path,
/// not the readers, is the limit.
pub const MAX_THREADS: usize = 64;

/// One interface's fanout group, shared by its capture threads: they join it
/// when their handles open, and again when a handle is reopened.
#[derive(Debug)]
pub struct FanoutGroup {
    interface: String,
    threads: usize,
    /// The group's id once the first socket has joined (the kernel picks it).
    id: Mutex<Option<u16>>,
    /// Handles lost (their interface failed) and not yet reopened: the
    /// interface is capturing again only once every thread is back.
    lost: AtomicUsize,
}

impl FanoutGroup {
    /// A group for `threads` handles on `interface`; none has joined yet.
    pub fn new(interface: &str, threads: usize) -> Self {
        FanoutGroup {
            interface: interface.to_string(),
            threads,
            id: Mutex::new(None),
            lost: AtomicUsize::new(0),
        }
    }

    /// Joins `socket` (an activated capture handle) to the group. The first
    /// handle makes the group; the others join its id. `reopened`: the handle
    /// replaces one whose interface went away; a group belongs to one device,
    /// so the old group refuses it and a new one is made for the new device.
    pub fn join(&self, socket: &impl AsFd, reopened: bool) -> Result<(), SourceError> {
        let mut id = self.id.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = *id {
            match sys::join(socket, known) {
                Ok(()) => return Ok(()),
                Err(nix::errno::Errno::EINVAL) if reopened => {}
                Err(e) => return Err(self.error(&format!("cannot join fanout group {known}"), e)),
            }
        }
        let made = sys::make_unique(socket).map_err(|e| self.error("cannot make a fanout group", e))?;
        *id = Some(made);
        Ok(())
    }

    /// One thread's handle failed: the interface is stalled until it is back.
    pub fn lose(&self) {
        self.lost.fetch_add(1, Relaxed);
    }

    /// One thread's handle is open again; true when it was the last one out.
    pub fn back(&self) -> bool {
        self.lost.fetch_sub(1, Relaxed) <= 1
    }

    /// The one-line error for a refused `PACKET_FANOUT`, with its fix.
    fn error(&self, what: &str, e: nix::errno::Errno) -> SourceError {
        use nix::errno::Errno;
        let fix = match e {
            Errno::ENOPROTOOPT | Errno::EINVAL => {
                "the kernel refused it (PACKET_FANOUT with a unique group id needs Linux 4.4 or later): use --capture-threads 1"
            }
            Errno::ENOSPC => "the group is full: use fewer --capture-threads",
            Errno::ENOMEM => "the kernel is short of memory: use fewer --capture-threads",
            _ => "use --capture-threads 1",
        };
        SourceError::Libpcap {
            what: format!("--capture-threads {} on {}", self.threads, self.interface),
            message: format!("{what} ({e}): {fix}"),
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::fd::AsFd;

    use nix::errno::Errno;
    use nix::sys::socket::{getsockopt, setsockopt};
    use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};

    // nix's own declaration of a socket option: `setsockopt(2)` and
    // `getsockopt(2)` on an `int`, the unsafe calls inside nix, our code safe.
    sockopt_impl!(
        /// `PACKET_FANOUT`: set joins a group (`id | (type | flags) << 16`),
        /// get reads the group joined (`id | type << 16 | flags << 24`).
        PacketFanout,
        Both,
        libc::SOL_PACKET,
        libc::PACKET_FANOUT,
        libc::c_int
    );

    /// Hash on the flow (addresses and ports, the same both ways).
    const HASH: u32 = libc::PACKET_FANOUT_HASH;

    /// Joins the group `id` (made by [`make_unique`] on another socket).
    pub fn join(socket: &impl AsFd, id: u16) -> Result<(), Errno> {
        let arg = u32::from(id) | (HASH << 16);
        setsockopt(socket, PacketFanout, &(arg as libc::c_int))
    }

    /// Makes a group with an id no other group in this network namespace has,
    /// joins it and returns the id.
    pub fn make_unique(socket: &impl AsFd) -> Result<u16, Errno> {
        let arg = (HASH | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16;
        setsockopt(socket, PacketFanout, &(arg as libc::c_int))?;
        let got = getsockopt(socket, PacketFanout)?;
        Ok((got as u32 & 0xffff) as u16)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    //! Fanout is Linux's: elsewhere `--capture-threads` above 1 is refused
    //! before any interface is opened (see `check_threads`).
    use std::os::fd::AsFd;

    use nix::errno::Errno;

    pub fn join(_: &impl AsFd, _: u16) -> Result<(), Errno> {
        Err(Errno::ENOPROTOOPT)
    }

    pub fn make_unique(_: &impl AsFd) -> Result<u16, Errno> {
        Err(Errno::ENOPROTOOPT)
    }
}

/// Checks `--capture-threads` before anything opens: 1 to [`MAX_THREADS`],
/// and above 1 only where the kernel has fanout (Linux).
pub fn check_threads(threads: usize) -> Result<usize, String> {
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(format!(
            "expected 1 to {MAX_THREADS} capture threads per interface"
        ));
    }
    if threads > 1 && !cfg!(target_os = "linux") {
        return Err("more than one capture thread per interface needs Linux (PACKET_FANOUT)".into());
    }
    Ok(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_are_bounded() {
        assert_eq!(check_threads(1), Ok(1));
        assert_eq!(check_threads(4), Ok(4));
        assert_eq!(check_threads(MAX_THREADS), Ok(MAX_THREADS));
        for bad in [0, MAX_THREADS + 1, 1000] {
            let e = check_threads(bad).unwrap_err();
            assert!(e.contains("1 to 64"), "{e}");
        }
    }

    #[test]
    fn a_refused_fanout_names_the_interface_and_the_fix() {
        let group = FanoutGroup::new("eth1", 4);
        let e = group
            .error("cannot make a fanout group", nix::errno::Errno::EINVAL)
            .to_string();
        assert!(
            e.starts_with("--capture-threads 4 on eth1: cannot make a fanout group"),
            "{e}"
        );
        assert!(e.contains("use --capture-threads 1"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
}
