//! `--listen HOST:PORT`: accept pcap streams over TCP from one or several
//! senders (`tcpdump -i eth1 -U -w - | ncat wallhost 5000`), as the paper's
//! display PC did with `ncat -l`.
//!
//! Each connection gets its own reader thread and counter shard; a bad stream is
//! closed and logged without disturbing the others. Connections are capped so
//! idle or hostile senders cannot exhaust memory (each holds a 1 MiB buffer).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use super::pcap_format::StreamReader;
use super::{Pacer, Pump, RecordSource, SourceError, SourceStatus, Speed, pump};
use crate::counting::{Counters, PacketSink};
use crate::parse::{Classifier, LocalNets};

/// Most senders served at once; more are refused (and logged).
pub const MAX_SENDERS: usize = 64;
/// A sender silent this long is dropped, freeing its slot.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Parses a `--listen` value; a bare port binds 127.0.0.1 (never all interfaces
/// unless asked).
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("bad listen address `{text}`: expected PORT or HOST:PORT, e.g. 127.0.0.1:5000"))
}

/// A bound listener, ready to serve.
pub struct StreamListener {
    listener: TcpListener,
    counters: Arc<Counters>,
    locals: LocalNets,
    active: Arc<AtomicUsize>,
}

impl StreamListener {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr, counters: Arc<Counters>, locals: LocalNets) -> Result<Self, SourceError> {
        let what = format!("listen address {addr}");
        let listener = TcpListener::bind(addr).map_err(|e| SourceError::io(&what, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| SourceError::io(&what, e))?;
        Ok(StreamListener {
            listener,
            counters,
            locals,
            active: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Accepts senders until `stop`; each stream is counted on its own thread.
    pub fn serve(self, status: Arc<SourceStatus>, stop: Arc<AtomicBool>) {
        while !stop.load(Relaxed) {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    if self.active.load(Relaxed) >= MAX_SENDERS {
                        eprintln!("scanwall: refused sender {peer}: already {MAX_SENDERS} senders");
                        continue;
                    }
                    self.active.fetch_add(1, Relaxed);
                    let (counters, locals, active) =
                        (self.counters.clone(), self.locals.clone(), self.active.clone());
                    let (status, stop) = (status.clone(), stop.clone());
                    let spawned =
                        std::thread::Builder::new()
                            .name(format!("sender {peer}"))
                            .spawn(move || {
                                serve_sender(stream, peer, &counters, locals, &status, &stop);
                                active.fetch_sub(1, Relaxed);
                                status.stalled.store(active.load(Relaxed) == 0, Relaxed);
                            });
                    if spawned.is_err() {
                        self.active.fetch_sub(1, Relaxed);
                        eprintln!("scanwall: cannot start a thread for sender {peer}");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    eprintln!("scanwall: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
}

fn serve_sender(
    stream: TcpStream,
    peer: SocketAddr,
    counters: &Counters,
    locals: LocalNets,
    status: &SourceStatus,
    stop: &AtomicBool,
) {
    let what = format!("stream from {peer}");
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let mut reader = match StreamReader::new(stream, &what) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scanwall: closed {what}: {e}");
            return;
        }
    };
    status.stalled.store(false, Relaxed);
    let mut sink = PacketSink::new(Classifier::new(reader.link(), locals), counters.writer());
    let mut p = Pump {
        pacer: Pacer::new(Speed::Max),
        filter: None,
        stop,
        ts_offset: 0,
    };
    let (summary, result) = pump(&mut reader, &mut sink, &mut p);
    match result {
        Ok(()) => eprintln!("scanwall: {what} ended after {} packets", summary.records),
        Err(e) => eprintln!("scanwall: closed {what} after {} packets: {e}", summary.records),
    }
    counters.release(sink.into_writer());
}
