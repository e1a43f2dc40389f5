//! The hover readout's words: which cell is under the pointer (address,
//! port or length, in the map's own terms), its value and rate, and against
//! the baseline when there is one. The window only passes the pointer.

use crate::render::{Hover, TileInput, ViewState};

/// The hover readout for the pointer at (x, y): what the cell is, its value
/// and its rate.
pub fn hover_readout(
    view: &ViewState,
    tiles: &[TileInput<'_>],
    rate_per_value: f64,
    size: (u32, u32),
    x: f64,
    y: f64,
) -> Option<Hover> {
    if view.blank || !x.is_finite() || !y.is_finite() {
        return None;
    }
    let (px, py) = (x.floor() as i32, y.floor() as i32);
    let arr = view.arrange(tiles.len(), size.0, size.1);
    let (slot, row, col) = arr.hit(px, py)?;
    let tile = tiles.get(slot.tile)?;
    // Along the Hilbert curve the cell under the pointer is not row << 8 | col.
    let key = tile.key_at(view.order, row, col);
    let value = tile.values.get(usize::from(key)).copied().unwrap_or(0.0);
    let rate = f64::from(value) * rate_per_value;
    let mut text = format!(
        "{}\n{}\nvalue {value:.1}   {rate:.2} pkt/s",
        tile.def.key.describe_in(key, &view.local),
        tile.def.title
    );
    if let (Some(base), Some(scale)) = (tile.baseline, tile.scale) {
        let b = base.get(usize::from(key)).copied().unwrap_or(0.0);
        let ratio = scale.change(value, b).exp2();
        text.push_str(&format!(
            "\nbaseline {:.2} pkt/s   now x{ratio:.2}",
            f64::from(b) * f64::from(scale.baseline_rate)
        ));
    }
    Some(Hover { x: px, y: py, text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::{CELLS, MAPS};

    /// All cells zero but x.x.37.200, which holds 8.
    fn one_cell_at_8() -> Vec<f32> {
        let mut values = vec![0.0f32; CELLS];
        values[37 * 256 + 200] = 8.0;
        values
    }

    /// The first six maps, all showing `values`.
    fn six_tiles(values: &[f32]) -> Vec<TileInput<'_>> {
        (0..6)
            .map(|i| TileInput {
                def: &MAPS[i],
                values,
                rate_pps: 0.0,
                baseline: None,
                scale: None,
            })
            .collect()
    }

    #[test]
    fn hover_names_the_cell_its_value_and_rate() {
        let values = one_cell_at_8();
        let tiles = six_tiles(&values);
        let view = ViewState::default();
        let arr = view.arrange(6, 1920, 1080);
        let cell = arr.slots[0].cell_rect(37, 200);
        let h = hover_readout(
            &view,
            &tiles,
            0.5,
            (1920, 1080),
            f64::from(cell.x) + 0.7,
            f64::from(cell.y) + 0.2,
        )
        .expect("over a cell");
        assert!(h.text.starts_with("x.x.37.200\n"), "{}", h.text);
        assert!(
            h.text.contains("value 8.0") && h.text.contains("4.00 pkt/s"),
            "{}",
            h.text
        );
        assert!(hover_readout(&view, &tiles, 0.5, (1920, 1080), 1.0, 1.0).is_none());
        let blank = ViewState {
            blank: true,
            ..ViewState::default()
        };
        let (x, y) = (f64::from(cell.x), f64::from(cell.y));
        assert!(hover_readout(&blank, &tiles, 0.5, (1920, 1080), x, y).is_none());
    }

    #[test]
    fn hover_along_the_hilbert_curve_names_the_exact_address() {
        let values = one_cell_at_8();
        let tiles = six_tiles(&values);
        let view = ViewState {
            order: crate::render::CellOrder::Hilbert,
            ..ViewState::default()
        };
        let arr = view.arrange(6, 1920, 1080);
        // x.x.37.200 sits where the curve puts key 37 * 256 + 200.
        let (col, row) = crate::hilbert::d2xy(37 * 256 + 200);
        let cell = arr.slots[0].cell_rect(row, col);
        let (x, y) = (f64::from(cell.x) + 0.5, f64::from(cell.y) + 0.5);
        let h = hover_readout(&view, &tiles, 0.5, (1920, 1080), x, y).expect("over a cell");
        assert!(
            h.text.starts_with("x.x.37.200\n") && h.text.contains("value 8.0"),
            "{}",
            h.text
        );
        // The port map (tile 4) keeps rows: the same spot is row << 8 | col there.
        let port = arr.slots[4].cell_rect(row, col);
        let (x, y) = (f64::from(port.x) + 0.5, f64::from(port.y) + 0.5);
        let h = hover_readout(&view, &tiles, 0.5, (1920, 1080), x, y).expect("over a cell");
        let key = u32::from(row) << 8 | u32::from(col);
        assert!(h.text.starts_with(&format!("port {key}\n")), "{}", h.text);
    }
}
