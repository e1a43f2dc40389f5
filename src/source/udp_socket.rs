//! The collector's UDP socket: bound with a large kernel receive buffer, and
//! the kernel's count of datagrams it dropped for lack of one.
//!
//! Why the buffer: agents send in bursts (a switch flushes every port's
//! samples at once, many switches report to one collector), and the Linux
//! default (`net.core.rmem_default`, about 208 KiB: some 150 full-size
//! datagrams) overflows within milliseconds whenever the collector thread is
//! descheduled. The standard library cannot set `SO_RCVBUF`, so `socket2`
//! does. The kernel caps the request at `net.core.rmem_max`; the size granted
//! is reported so a short buffer is visible.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// The receive buffer asked for.
pub const RECEIVE_BUFFER_BYTES: usize = 32 << 20;

/// Binds a UDP socket to `addr` with a [`RECEIVE_BUFFER_BYTES`] receive
/// buffer (or as much as the kernel allows); returns it with the size
/// granted, comparable to the size asked (Linux reports twice that, the
/// other half being its own bookkeeping).
pub fn bind(addr: SocketAddr) -> io::Result<(UdpSocket, usize)> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer still works, and is reported.
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES);
    socket.bind(&addr.into())?;
    let reported = socket.recv_buffer_size().unwrap_or(0);
    let granted = if cfg!(target_os = "linux") {
        reported / 2
    } else {
        reported
    };
    Ok((socket.into(), granted))
}

/// Datagrams the kernel dropped on `socket` because its receive buffer was
/// full (the `drops` column of `/proc/net/udp` and `udp6`, found by the
/// socket's inode); `None` where that cannot be read.
pub fn kernel_drops(socket: &UdpSocket) -> Option<u64> {
    let inode = inode(socket)?;
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find_map(|table| drops_of(&table, &inode))
}

#[cfg(target_os = "linux")]
fn inode(socket: &UdpSocket) -> Option<String> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let link = link.to_str()?;
    Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
}

#[cfg(not(target_os = "linux"))]
fn inode(_: &UdpSocket) -> Option<String> {
    None
}

/// The `drops` column (the last) of the `/proc/net/udp` line whose inode
/// column (the tenth) is `inode`.
fn drops_of(table: &str, inode: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9) == Some(&inode) {
            fields.last()?.parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test fixtures

    use super::*;

    #[test]
    fn drops_are_read_by_inode() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
            \x20 12: 0100007F:18BB 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4242 2 0000000000000000 17\n\
            \x20 13: 0100007F:18BC 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4243 2 0000000000000000 0\n";
        assert_eq!(drops_of(table, "4242"), Some(17));
        assert_eq!(drops_of(table, "4243"), Some(0));
        assert_eq!(drops_of(table, "999"), None);
    }

    #[test]
    fn a_bound_socket_has_a_buffer_and_readable_drops() {
        let (socket, granted) = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(granted > 0);
        if cfg!(target_os = "linux") {
            assert_eq!(kernel_drops(&socket), Some(0));
        }
    }
}
