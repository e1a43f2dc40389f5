//! The hover readout's words: which cell is under the pointer (address,
//! port or length, in the map's own terms), its value and rate, and against
//! the baseline when there is one. The window only passes the pointer.

use crate::events::PinAnswer;
use crate::render::{Hover, TileInput, ViewState};
use crate::ui::{PinRequest, PinSpan};

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
    // The value's unit: decayed packets and their rate, or plain packets.
    let amount = if rate_per_value > 0.0 {
        format!("value {value:.1} (decayed packets)   {rate:.2} pkt/s")
    } else {
        format!("value {value:.0} packets")
    };
    let mut place = tile.def.key.describe_in(key, &view.local);
    if tile.def.key == crate::maps::Key::DstPort
        && let Some(name) = crate::known::service_name(key)
    {
        place.push(' ');
        place.push_str(name);
    }
    let mut text = format!("{place}\n{}\n{amount}", tile.def.title);
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

/// What a readout pinned at (x, y) asks about: the cell under it, or its
/// row or column, in the map's own row order (along the Hilbert curve the
/// cell's key says which row and column it is).
pub fn pin_request(
    view: &ViewState,
    tiles: &[TileInput<'_>],
    size: (u32, u32),
    x: f64,
    y: f64,
    span: PinSpan,
) -> Option<PinRequest> {
    if view.blank || !x.is_finite() || !y.is_finite() {
        return None;
    }
    let arr = view.arrange(tiles.len(), size.0, size.1);
    let (slot, row, col) = arr.hit(x.floor() as i32, y.floor() as i32)?;
    let tile = tiles.get(slot.tile)?;
    let key = tile.key_at(view.order, row, col);
    let (r, c) = ((key >> 8) as u8, key as u8);
    let (rows, columns) = match span {
        PinSpan::Cell => ((r, r), (c, c)),
        PinSpan::Row => ((r, r), (0, 255)),
        PinSpan::Column => ((0, 255), (c, c)),
    };
    Some(PinRequest {
        map: tile.def.name,
        rows,
        columns,
    })
}

/// The pinned readout's lines from the detector's answer: how many packets
/// the cells got lately, when, from whom, to which ports and hosts.
pub fn pin_lines(answer: &PinAnswer) -> Vec<String> {
    let q = answer.query;
    let span = match (q.rows.0 == q.rows.1, q.columns.0 == q.columns.1) {
        (true, true) => "this cell",
        (true, false) => "this row",
        _ => "this column",
    };
    let secs = answer.window_ns / 1_000_000_000;
    if answer.packets == 0 {
        return vec![format!("{span}: no packets in the last {secs} s")];
    }
    let mut lines = vec![format!(
        "{span}: {} packets in the last {secs} s, {} to {}",
        crate::events::human(answer.packets as f64),
        answer.first.map_or_else(String::new, super::events::clock),
        answer.last.map_or_else(String::new, super::events::clock),
    )];
    let list = |items: Vec<String>| items.join(", ");
    lines.push(format!(
        "sources: {}",
        list(answer.sources.iter().map(|(a, n)| format!("{a} ({n})")).collect())
    ));
    if !answer.ports.is_empty() {
        let port = |p: u16| match crate::known::service_name(p) {
            Some(name) => format!("{p} {name}"),
            None => p.to_string(),
        };
        lines.push(format!(
            "ports: {}",
            list(
                answer
                    .ports
                    .iter()
                    .map(|(p, n)| format!("{} ({n})", port(*p)))
                    .collect()
            )
        ));
    }
    lines.push(format!(
        "to: {}",
        list(
            answer
                .destinations
                .iter()
                .map(|(a, n)| format!("{a} ({n})"))
                .collect()
        )
    ));
    lines
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
    fn a_pin_asks_about_the_cell_its_row_or_its_column_and_reads_the_answer() {
        let values = one_cell_at_8();
        let tiles = six_tiles(&values);
        let view = ViewState::default();
        let arr = view.arrange(6, 1920, 1080);
        let cell = arr.slots[2].cell_rect(37, 200);
        let (x, y) = (f64::from(cell.x) + 0.5, f64::from(cell.y) + 0.5);
        let ask = |span| pin_request(&view, &tiles, (1920, 1080), x, y, span).expect("over a map");
        let cell_q = ask(PinSpan::Cell);
        assert_eq!(
            (cell_q.map, cell_q.rows, cell_q.columns),
            (MAPS[2].name, (37, 37), (200, 200))
        );
        assert_eq!(ask(PinSpan::Row).columns, (0, 255));
        assert_eq!(ask(PinSpan::Column).rows, (0, 255));
        assert!(pin_request(&view, &tiles, (1920, 1080), 1.0, 1.0, PinSpan::Cell).is_none());
        let answer = PinAnswer {
            query: crate::events::PinQuery {
                map: 2,
                rows: (37, 37),
                columns: (0, 255),
            },
            window_ns: 15_000_000_000,
            packets: 1234,
            first: Some(1_700_000_000_000_000_000),
            last: Some(1_700_000_012_000_000_000),
            sources: vec![("198.51.100.77".parse().expect("an address"), 1200)],
            ports: vec![(22, 1234)],
            destinations: vec![("10.20.37.1".parse().expect("an address"), 9)],
        };
        let lines = pin_lines(&answer);
        assert_eq!(
            lines[0],
            "this row: 1.2k packets in the last 15 s, 22:13:20 to 22:13:32"
        );
        assert_eq!(lines[1], "sources: 198.51.100.77 (1200)");
        assert_eq!(lines[2], "ports: 22 ssh (1234)");
    }

    #[test]
    fn a_port_cell_names_its_service() {
        let values = one_cell_at_8();
        let tiles = six_tiles(&values);
        let view = ViewState::default();
        let arr = view.arrange(6, 1920, 1080);
        // Tile 4 is the port map: port 443 is row 1, column 187.
        let cell = arr.slots[4].cell_rect(1, 187);
        let (x, y) = (f64::from(cell.x) + 0.5, f64::from(cell.y) + 0.5);
        let h = hover_readout(&view, &tiles, 0.5, (1920, 1080), x, y).expect("over a cell");
        assert!(h.text.starts_with("port 443 https\n"), "{}", h.text);
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
