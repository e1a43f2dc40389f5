//! Bounds-safe big-endian field reads for the parsers.
//!
//! Callers check lengths once per header; these helpers still never panic when a
//! check was missed: an out-of-range read yields 0.

/// Big-endian u16 at `at`, or 0 when out of range.
#[inline(always)]
pub fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.saturating_add(2)) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

/// Big-endian u32 at `at`, or 0 when out of range.
#[inline(always)]
pub fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.saturating_add(4)) {
        Some(&[a, x, y, z]) => u32::from_be_bytes([a, x, y, z]),
        _ => 0,
    }
}

/// Little-endian u32 at `at`, or 0 when out of range.
#[inline(always)]
pub fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.saturating_add(4)) {
        Some(&[a, x, y, z]) => u32::from_le_bytes([a, x, y, z]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_out_of_range_is_zero() {
        let b = [1u8, 2, 3, 4];
        assert_eq!(be16(&b, 0), 0x0102);
        assert_eq!(be16(&b, 3), 0);
        assert_eq!(be32(&b, 0), 0x0102_0304);
        assert_eq!(le32(&b, 0), 0x0403_0201);
        assert_eq!(be32(&b, 1), 0);
        assert_eq!(be16(&b, usize::MAX - 1), 0);
    }
}
