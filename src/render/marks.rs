//! Scan events on the wall: each live event outlined on its map with a
//! label in words, and the event list (key E). The renderer gets plain
//! marks ([`EventOverlay`]); what an event is and how it is worded is the
//! display side's business (`crate::display::events`).

use super::layout::{Arrangement, Rect, TileSlot};
use super::scale::CellOrder;
use super::scene::{Measure, RectInstance, Scene};
use super::text::{LINE_HEIGHT, TextItem};
use crate::hilbert;

/// One event to outline: on which shown tile, which cells, and its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMark {
    /// Index into the frame's tiles.
    pub tile: usize,
    /// First and last row (row order, as the maps are keyed).
    pub rows: (u8, u8),
    /// First and last column.
    pub columns: (u8, u8),
    /// The label drawn beside the outline.
    pub label: String,
}

/// The events a frame shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventOverlay {
    /// Live events to outline, busiest first (the first few per map are drawn).
    pub marks: Vec<EventMark>,
    /// The event list (key E), latest first; `None` hides it.
    pub list: Option<Vec<String>>,
}

/// Events outlined per map, the busiest first: more would bury the map
/// under frames; the list (E) has them all.
const MARKS_PER_MAP: usize = 3;
/// Of those, labelled: the busiest. Words are what a software renderer
/// spends most on (each glyph a quad), and one label per map reads best
/// from across the room.
const LABELS_PER_MAP: usize = 1;
/// Lines the event list shows at most: as many as fit a 1080p screen.
const LIST_LINES: usize = 28;
/// The outline: a bright line inside a dark one, seen on every colour map.
const MARK: [u8; 4] = [0, 255, 200, 255];
const MARK_EDGE: [u8; 4] = [0, 0, 0, 255];
const LABEL_PANEL: [u8; 4] = [8, 9, 12, 215];
const LABEL_TEXT: [u8; 4] = [0, 255, 200, 255];
const LIST_TEXT: [u8; 4] = [222, 224, 228, 255];
const LIST_EDGE: [u8; 4] = [90, 96, 104, 255];

/// Outlines and labels every mark on its tile, then the list.
pub(crate) fn draw(
    scene: &mut Scene,
    arr: &Arrangement,
    overlay: &EventOverlay,
    curve: impl Fn(usize) -> bool,
    order: CellOrder,
    measure: Measure<'_>,
) {
    let f = arr.footers.first().map_or(14.0, |footer| footer.font_px);
    for slot in &arr.slots {
        let on_curve = order == CellOrder::Hilbert && curve(slot.tile);
        let mut placed: Vec<Rect> = Vec::new();
        let marks = overlay.marks.iter().filter(|m| m.tile == slot.tile);
        for (n, mark) in marks.take(MARKS_PER_MAP).enumerate() {
            let boxes = boxes(slot, mark, on_curve);
            for b in &boxes {
                outline(scene, *b, slot.map.w);
            }
            // The list covers the maps' labels (overlay text cannot be hidden
            // by a later panel): with it open, outlines only.
            if n < LABELS_PER_MAP
                && !mark.label.is_empty()
                && overlay.list.is_none()
                && let Some(first) = bounding(&boxes)
            {
                label(scene, slot, first, &mark.label, f, &mut *measure, &mut placed);
            }
        }
    }
    if let Some(list) = &overlay.list {
        event_list(scene, arr.screen, list, measure);
    }
}

/// The screen rectangles that outline a mark: one around its cells in row
/// order; along the Hilbert curve one per row (a /24 is a 16 x 16 square
/// there, and a column's cells lie apart).
fn boxes(slot: &TileSlot, m: &EventMark, on_curve: bool) -> Vec<Rect> {
    let cell = |r: u16, c: u16| slot.cell_rect(r, c);
    if !on_curve {
        let a = cell(u16::from(m.rows.0), u16::from(m.columns.0));
        let b = cell(u16::from(m.rows.1), u16::from(m.columns.1));
        return vec![Rect::new(a.x, a.y, b.right() - a.x, b.bottom() - a.y)];
    }
    let mut out = Vec::new();
    for row in m.rows.0..=m.rows.1 {
        let cells = (m.columns.0..=m.columns.1).map(|c| {
            let (x, y) = hilbert::d2xy(u16::from(row) << 8 | u16::from(c));
            cell(y, x)
        });
        let rects: Vec<Rect> = cells.collect();
        if m.columns.0 == m.columns.1 {
            out.extend(rects);
        } else if let Some(b) = bounding(&rects) {
            out.push(b);
        }
    }
    out
}

fn bounding(rects: &[Rect]) -> Option<Rect> {
    let first = rects.first()?;
    let (mut x0, mut y0, mut x1, mut y1) = (first.x, first.y, first.right(), first.bottom());
    for r in rects {
        x0 = x0.min(r.x);
        y0 = y0.min(r.y);
        x1 = x1.max(r.right());
        y1 = y1.max(r.bottom());
    }
    Some(Rect::new(x0, y0, x1 - x0, y1 - y0))
}

/// A two-tone frame around `r`: a dark line outside a bright one, thicker
/// on a larger map.
fn outline(scene: &mut Scene, r: Rect, map_side: i32) {
    let t = (map_side / 256).clamp(1, 4) + 1;
    for (grow, colour, w) in [(t + 1, MARK_EDGE, 1), (t, MARK, t)] {
        for side in r.inset(-grow).edges(w) {
            scene.overlay.push(RectInstance::solid(side, colour));
        }
    }
}

/// The label under the outline (above it near the map's bottom), kept
/// inside the map and off the labels already placed there.
fn label(
    scene: &mut Scene,
    slot: &TileSlot,
    at: Rect,
    text: &str,
    f: f32,
    measure: Measure<'_>,
    placed: &mut Vec<Rect>,
) {
    let pad = (f * 0.3).ceil() as i32;
    let text = fitted(text, (slot.map.w - 2 * pad) as f32, f, &mut *measure);
    let (w, _) = measure(&text, f);
    let w = (w.ceil() as i32 + 2 * pad).min(slot.map.w);
    let h = (f * LINE_HEIGHT).ceil() as i32 + 2 * pad;
    let gap = (f * 0.4) as i32;
    let x = at.x.clamp(slot.map.x, (slot.map.right() - w).max(slot.map.x));
    let mut y = if at.bottom() + gap + h <= slot.map.bottom() {
        at.bottom() + gap
    } else {
        (at.y - gap - h).max(slot.map.y)
    };
    let mut panel = Rect::new(x, y, w, h);
    while placed.iter().any(|p| overlaps(*p, panel)) && y + 2 * h <= slot.map.bottom() {
        y += h;
        panel = Rect::new(x, y, w, h);
    }
    placed.push(panel);
    scene.overlay.push(RectInstance::solid(panel, LABEL_PANEL));
    // Fitted, not clipped: a clipped text area costs a software renderer
    // about as much again as the six maps (benches/render.rs).
    let t = TextItem::new(
        text,
        (panel.x + pad) as f32,
        (panel.y + pad) as f32,
        f,
        LABEL_TEXT,
    )
    .on_overlay();
    scene.text.push(t);
}

/// `text` made to fit `width` pixels at size `f`: whole ` - ` parts dropped
/// from the end first (the place and the rate come first), then characters,
/// with an ellipsis.
fn fitted(text: &str, width: f32, f: f32, measure: Measure<'_>) -> String {
    if measure(text, f).0 <= width {
        return text.to_string();
    }
    let parts: Vec<&str> = text.split(" - ").collect();
    for n in (1..parts.len()).rev() {
        let shorter = parts[..n].join(" - ");
        if measure(&shorter, f).0 <= width {
            return shorter;
        }
    }
    let mut out: String = parts.first().copied().unwrap_or("").to_string();
    while !out.is_empty() && measure(&format!("{out}..."), f).0 > width {
        out.pop();
    }
    format!("{out}...")
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.x < b.right() && b.x < a.right() && a.y < b.bottom() && b.y < a.bottom()
}

/// The event list: a panel down the right side, latest first, as many lines
/// as fit.
fn event_list(scene: &mut Scene, screen: Rect, lines: &[String], measure: Measure<'_>) {
    let f = (screen.h as f32 / 48.0).clamp(11.0, 40.0);
    let line_h = (f * 1.45).ceil() as i32;
    let pad = (f * 1.0) as i32;
    let title = if lines.is_empty() {
        "Events: none yet".to_string()
    } else {
        format!("Events ({}, latest first)", lines.len())
    };
    let title_w = measure(&title, f * 1.2).0.ceil() as i32;
    let widest = lines
        .iter()
        .map(|l| measure(l, f).0.ceil() as i32)
        .fold(title_w, i32::max);
    let w = (widest + 2 * pad).min(screen.w * 3 / 5).max(1);
    let fit = ((screen.h - 2 * pad) / line_h - 2).max(0) as usize;
    let shown = lines.len().min(fit).min(LIST_LINES);
    let h = line_h * (shown as i32 + 2) + 2 * pad;
    let panel = Rect::new(
        screen.right() - w - pad,
        screen.y + pad,
        w,
        h.min(screen.h - 2 * pad),
    );
    scene
        .overlay
        .push(RectInstance::solid(panel.inset(-2), LIST_EDGE));
    scene.overlay.push(RectInstance::solid(panel, LABEL_PANEL));
    let room = (w - 2 * pad) as f32;
    let title = fitted(&title, room, f * 1.2, &mut *measure);
    let t = TextItem::new(
        title,
        (panel.x + pad) as f32,
        (panel.y + pad) as f32,
        f * 1.2,
        LIST_TEXT,
    )
    .on_overlay();
    scene.text.push(t);
    for (i, l) in lines.iter().take(shown).enumerate() {
        let y = (panel.y + pad + line_h * (i as i32 + 2)) as f32;
        let colour = if l.starts_with("LIVE") {
            LABEL_TEXT
        } else {
            LIST_TEXT
        };
        let line = fitted(l, room, f, &mut *measure);
        scene
            .text
            .push(TextItem::new(line, (panel.x + pad) as f32, y, f, colour).on_overlay());
    }
}
