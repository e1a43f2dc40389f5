//! The order-8 Hilbert curve through the 256 x 256 cells of a map.
//!
//! Drawing a 16-bit address map along the curve (instead of row-major) keeps
//! numerically close addresses close on screen: every /24 (256 consecutive
//! keys) fills one 16 x 16 square, every /26 an 8 x 8 square, and neighbouring
//! prefixes share an edge. The renderer reorders a map's cells along the curve
//! while uploading it (`render::gpu`), with these same functions the hover
//! readout, the axis labels and the tests use.

/// Cells along one side of the curve's square.
pub const SIDE: u16 = 256;

/// The position along the curve (0..65536) of cell (`x`, `y`): `x` is the
/// column (0 = left), `y` the row (0 = top). Coordinates wrap at 256.
pub fn xy2d(x: u16, y: u16) -> u16 {
    let (mut x, mut y) = (u32::from(x % SIDE), u32::from(y % SIDE));
    let mut d = 0u32;
    let mut s = u32::from(SIDE) / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        rotate(u32::from(SIDE), &mut x, &mut y, rx, ry);
        s /= 2;
    }
    // At most 255*255 + ... < 65536 for a 256-cell side.
    d as u16
}

/// The cell (`x` = column, `y` = row) at position `d` along the curve.
pub fn d2xy(d: u16) -> (u16, u16) {
    let mut t = u32::from(d);
    let (mut x, mut y) = (0u32, 0u32);
    let mut s = 1u32;
    while s < u32::from(SIDE) {
        let rx = 1 & (t / 2);
        let ry = 1 & (t ^ rx);
        rotate(s, &mut x, &mut y, rx, ry);
        x += s * rx;
        y += s * ry;
        t /= 4;
        s *= 2;
    }
    // Both are below 256.
    (x as u16, y as u16)
}

/// Rotates / flips a quadrant so each sub-curve joins its neighbours.
fn rotate(n: u32, x: &mut u32, y: &mut u32, rx: u32, ry: u32) {
    if ry == 0 {
        if rx == 1 {
            *x = n - 1 - *x;
            *y = n - 1 - *y;
        }
        std::mem::swap(x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_cell() {
        for d in 0..=u16::MAX {
            let (x, y) = d2xy(d);
            assert!(x < SIDE && y < SIDE);
            assert_eq!(xy2d(x, y), d, "d {d} -> ({x}, {y})");
        }
    }

    #[test]
    fn consecutive_keys_are_neighbours() {
        for d in 0..u16::MAX {
            let (x0, y0) = d2xy(d);
            let (x1, y1) = d2xy(d + 1);
            assert_eq!(x0.abs_diff(x1) + y0.abs_diff(y1), 1, "{d}");
        }
    }

    #[test]
    fn every_slash_24_is_an_aligned_16_by_16_square() {
        for net in 0..256u16 {
            let cells: Vec<(u16, u16)> = (0..256).map(|h| d2xy(net << 8 | h)).collect();
            let (x0, y0) = cells[0];
            let (bx, by) = (x0 / 16, y0 / 16);
            assert!(
                cells.iter().all(|&(x, y)| x / 16 == bx && y / 16 == by),
                "/24 {net}"
            );
        }
    }

    #[test]
    fn starts_top_left_and_ends_top_right() {
        assert_eq!(d2xy(0), (0, 0));
        assert_eq!(d2xy(u16::MAX), (255, 0));
    }
}
