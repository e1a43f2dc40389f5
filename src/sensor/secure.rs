//! What protects a sensor connection (protocol version 2): the Noise protocol
//! framework's `NNpsk0` handshake with the shared key as the pre-shared key,
//! then every frame sealed (encrypted and authenticated) with the session's
//! keys. The construction and its code are the `snow` crate's, a widely used
//! implementation of the reviewed Noise specification; nothing here is
//! cryptography of our own, only how the bytes are carried.
//!
//! Why this pattern: both ends already share one secret (`--key-file`) and
//! nothing else, and `NNpsk0` is the Noise pattern for exactly that. The
//! sensor's first message is encrypted under a key derived from the secret, so
//! a wall rejects a peer without it at once; the wall's answer proves the wall
//! holds it too (a host that takes over the wall's address learns nothing);
//! fresh ephemeral keys on both sides give each connection its own keys
//! (forward secrecy, no replay of a recorded session). After the handshake a
//! frame that was altered, dropped, reordered or replayed fails to open.
//!
//! The pre-shared key is HKDF-SHA256 of the key file's secret (which may be
//! any length of at least 16 bytes) with a label naming this protocol.
//!
//! Noise messages are at most 65,535 bytes, frames up to 1 MiB: the frames a
//! side writes are one plaintext stream, cut into [`SEALED`](super::wire)
//! records of at most [`MAX_PLAIN`] bytes, each sealed on its own. The
//! reader opens records into a plaintext buffer and reads frames from it with
//! the same limits as before ([`super::conn::Conn`]).

use super::auth::SensorKey;

/// The Noise protocol name: pattern, Diffie-Hellman, cipher, hash.
pub const NOISE_PARAMS: &str = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";
/// Largest Noise message (the specification's limit).
pub const MAX_SEALED: usize = 65_535;
/// Bytes the cipher adds to each sealed record (the Poly1305 tag).
pub const TAG_LEN: usize = 16;
/// Most plaintext bytes in one sealed record.
pub const MAX_PLAIN: usize = MAX_SEALED - TAG_LEN;
/// Bytes of each handshake message (an ephemeral key and an empty payload's tag).
pub const HANDSHAKE_LEN: usize = 32 + TAG_LEN;
/// What the pre-shared key is derived for (HKDF's info), so the secret used
/// here is never the same bytes as the secret anywhere else.
const PSK_INFO: &[u8] = b"scanwall sensor protocol 2 pre-shared key";
/// Starts every handshake's prologue; the HELLO frame's bytes follow, so both
/// ends' handshakes also agree on the sensor's name and version.
const PROLOGUE_LABEL: &[u8] = b"scanwall sensor protocol 2\n";

/// Why a handshake or a record failed. The messages are for the log line
/// that drops the connection: they never say more than that it failed (a
/// peer learns nothing from them).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecureError {
    /// The peer's handshake message did not prove the key (or was damaged).
    #[error("the handshake did not prove the shared key")]
    Handshake,
    /// A sealed record failed to open: altered, replayed, reordered or forged.
    #[error("a sealed frame failed its integrity check (altered, replayed or forged)")]
    Tampered,
    /// A record too large or too small to be one.
    #[error("a sealed record of {0} bytes (1 to 65,535 allowed, at least the tag)")]
    RecordSize(usize),
    /// The Noise library refused to set up (a bug or an exhausted session).
    #[error("the secure channel cannot continue: {0}")]
    Setup(String),
}

/// The 32-byte pre-shared key for `key`.
pub fn psk(key: &SensorKey) -> [u8; 32] {
    let mut out = [0u8; 32];
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, key.secret());
    // 32 bytes is far below HKDF-SHA256's limit of 255 hash lengths.
    if hk.expand(PSK_INFO, &mut out).is_err() {
        unreachable!("HKDF-SHA256 gives 32 bytes");
    }
    out
}

/// The prologue both ends mix into the handshake: the label and the HELLO
/// frame exactly as sent.
pub fn prologue(hello_frame: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(PROLOGUE_LABEL.len() + hello_frame.len());
    p.extend_from_slice(PROLOGUE_LABEL);
    p.extend_from_slice(hello_frame);
    p
}

/// One side's handshake in progress.
pub struct Handshake(snow::HandshakeState);

impl Handshake {
    /// The sensor's side (it speaks first).
    pub fn initiator(psk: &[u8; 32], prologue: &[u8]) -> Result<Handshake, SecureError> {
        Self::build(psk, prologue, true)
    }

    /// The wall's side.
    pub fn responder(psk: &[u8; 32], prologue: &[u8]) -> Result<Handshake, SecureError> {
        Self::build(psk, prologue, false)
    }

    fn build(psk: &[u8; 32], prologue: &[u8], initiator: bool) -> Result<Handshake, SecureError> {
        let setup = |e: snow::Error| SecureError::Setup(e.to_string());
        let params: snow::params::NoiseParams = NOISE_PARAMS.parse().map_err(setup)?;
        let builder = snow::Builder::new(params)
            .psk(0, psk)
            .map_err(setup)?
            .prologue(prologue)
            .map_err(setup)?;
        let state = if initiator {
            builder.build_initiator()
        } else {
            builder.build_responder()
        };
        state.map(Handshake).map_err(setup)
    }

    /// This side's next handshake message (with an empty payload).
    pub fn write(&mut self) -> Result<Vec<u8>, SecureError> {
        let mut msg = vec![0u8; HANDSHAKE_LEN];
        let n = self
            .0
            .write_message(&[], &mut msg)
            .map_err(|e| SecureError::Setup(e.to_string()))?;
        msg.truncate(n);
        Ok(msg)
    }

    /// Reads the peer's handshake message; an error means it did not prove
    /// the key (or was not a handshake message at all).
    pub fn read(&mut self, msg: &[u8]) -> Result<(), SecureError> {
        if msg.len() != HANDSHAKE_LEN {
            return Err(SecureError::Handshake);
        }
        let mut payload = [0u8; HANDSHAKE_LEN];
        match self.0.read_message(msg, &mut payload) {
            Ok(0) => Ok(()),
            _ => Err(SecureError::Handshake),
        }
    }

    /// The session's sealing keys, once both messages have passed.
    pub fn finish(self) -> Result<Sealer, SecureError> {
        if !self.0.is_handshake_finished() {
            return Err(SecureError::Handshake);
        }
        self.0
            .into_transport_mode()
            .map(|t| Sealer(Box::new(t)))
            .map_err(|e| SecureError::Setup(e.to_string()))
    }
}

/// A session's keys: seals what this side sends, opens what it receives.
pub struct Sealer(Box<snow::TransportState>);

impl Sealer {
    /// Appends `plain` (at most [`MAX_PLAIN`] bytes) sealed to `out`.
    pub fn seal(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), SecureError> {
        if plain.len() > MAX_PLAIN {
            return Err(SecureError::RecordSize(plain.len() + TAG_LEN));
        }
        let at = out.len();
        out.resize(at + plain.len() + TAG_LEN, 0);
        match self.0.write_message(plain, &mut out[at..]) {
            Ok(n) => {
                out.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(at);
                Err(SecureError::Setup(e.to_string()))
            }
        }
    }

    /// Appends the plaintext of the sealed record `sealed` to `plain`; an
    /// error (nothing appended) means the record was not sealed by the peer's
    /// next send.
    pub fn open(&mut self, sealed: &[u8], plain: &mut Vec<u8>) -> Result<(), SecureError> {
        if !(TAG_LEN..=MAX_SEALED).contains(&sealed.len()) {
            return Err(SecureError::RecordSize(sealed.len()));
        }
        let at = plain.len();
        plain.resize(at + sealed.len(), 0);
        match self.0.read_message(sealed, &mut plain[at..]) {
            Ok(n) => {
                plain.truncate(at + n);
                Ok(())
            }
            Err(_) => {
                plain.truncate(at);
                Err(SecureError::Tampered)
            }
        }
    }
}

/// Both ends of a finished handshake over `key`, in memory: for tests, the
/// benchmark and the fuzz target.
#[cfg(any(test, feature = "testing"))]
pub fn pair(key: &SensorKey, hello_frame: &[u8]) -> Result<(Sealer, Sealer), SecureError> {
    let (psk, prologue) = (psk(key), prologue(hello_frame));
    let mut sensor = Handshake::initiator(&psk, &prologue)?;
    let mut wall = Handshake::responder(&psk, &prologue)?;
    wall.read(&sensor.write()?)?;
    sensor.read(&wall.write()?)?;
    Ok((sensor.finish()?, wall.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bytes: &[u8]) -> SensorKey {
        SensorKey::from_bytes(bytes)
    }

    #[test]
    fn a_session_seals_and_opens_in_order() {
        let (mut sensor, mut wall) = pair(&key(b"0123456789abcdef"), b"hello").expect("pair");
        let mut sealed = Vec::new();
        sensor.seal(b"first", &mut sealed).expect("seal");
        let mut second = Vec::new();
        sensor.seal(b"second", &mut second).expect("seal");
        assert_ne!(&sealed[..5], b"first", "sealed bytes are not the plaintext");
        let mut plain = Vec::new();
        wall.open(&sealed, &mut plain).expect("open");
        wall.open(&second, &mut plain).expect("open");
        assert_eq!(plain, b"firstsecond");
        // A replayed record fails (its nonce is spent).
        assert_eq!(wall.open(&sealed, &mut plain), Err(SecureError::Tampered));
        assert_eq!(plain, b"firstsecond", "nothing appended");
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let (mut sensor, mut wall) = pair(&key(b"0123456789abcdef"), b"hello").expect("pair");
        let mut sealed = Vec::new();
        sensor.seal(b"some counts", &mut sealed).expect("seal");
        // A failed open spends nothing: the same wall tries every alteration,
        // then opens the record as sent.
        for i in 0..sealed.len() {
            for flip in [0x01, 0x80] {
                let mut bad = sealed.clone();
                bad[i] ^= flip;
                let mut plain = Vec::new();
                assert_eq!(
                    wall.open(&bad, &mut plain),
                    Err(SecureError::Tampered),
                    "byte {i}"
                );
                assert!(plain.is_empty());
            }
        }
        assert!(
            wall.open(&sealed[..sealed.len() - 1], &mut Vec::new()).is_err(),
            "cut short"
        );
        let mut plain = Vec::new();
        wall.open(&sealed, &mut plain).expect("the record as sent");
        assert_eq!(plain, b"some counts");
    }

    #[test]
    fn a_wrong_key_or_another_hello_fails_the_handshake() {
        let (k, other) = (key(b"0123456789abcdef"), key(b"0123456789abcdeF"));
        let mut sensor = Handshake::initiator(&psk(&k), &prologue(b"hello edge-1")).expect("init");
        let first = sensor.write().expect("write");
        let mut wall = Handshake::responder(&psk(&other), &prologue(b"hello edge-1")).expect("resp");
        assert_eq!(wall.read(&first), Err(SecureError::Handshake), "another key");
        let mut wall = Handshake::responder(&psk(&k), &prologue(b"hello edge-2")).expect("resp");
        assert_eq!(wall.read(&first), Err(SecureError::Handshake), "another name");
        let mut wall = Handshake::responder(&psk(&k), &prologue(b"hello edge-1")).expect("resp");
        assert_eq!(wall.read(&first[..40]), Err(SecureError::Handshake), "cut short");
        wall.read(&first).expect("the right key");
        // The wall's answer proves the wall's key to the sensor in turn.
        let mut impostor = Handshake::responder(&psk(&other), &prologue(b"hello edge-1")).expect("resp");
        let mut sensor2 = Handshake::initiator(&psk(&k), &prologue(b"hello edge-1")).expect("init");
        let first2 = sensor2.write().expect("write");
        assert!(impostor.read(&first2).is_err());
        assert!(sensor2.read(&[0u8; HANDSHAKE_LEN]).is_err(), "a made-up answer");
    }

    #[test]
    fn the_psk_depends_on_every_byte_of_the_secret() {
        let a = psk(&key(b"0123456789abcdef"));
        assert_ne!(a, psk(&key(b"0123456789abcdeF")));
        assert_ne!(a, psk(&key(b"0123456789abcdef0")));
        assert_eq!(a, psk(&key(b"0123456789abcdef")));
    }

    #[test]
    fn records_have_bounds() {
        let (mut sensor, mut wall) = pair(&key(b"0123456789abcdef"), b"hello").expect("pair");
        let mut out = Vec::new();
        assert!(sensor.seal(&vec![0u8; MAX_PLAIN + 1], &mut out).is_err());
        sensor
            .seal(&vec![7u8; MAX_PLAIN], &mut out)
            .expect("the largest record");
        assert_eq!(out.len(), MAX_SEALED);
        assert!(wall.open(&[0u8; TAG_LEN - 1], &mut Vec::new()).is_err());
        let mut plain = Vec::new();
        wall.open(&out, &mut plain).expect("open");
        assert_eq!(plain.len(), MAX_PLAIN);
    }
}
