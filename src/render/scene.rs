//! Turns a frame and its arrangement into what the GPU draws: rectangles,
//! map quads and text items. No wgpu here; the measuring of text is passed in.

use bytemuck::{Pod, Zeroable};

use super::colour::{DIVERGING_SCALE, MAX_STOPS};
use super::layout::{Arrangement, Footer, Rect, TileSlot};
use super::scale::{MapScale, MapView, RANK_FLOOR, ScaleMode, short_number};
use super::text::{Anchor, LINE_HEIGHT, TextItem};
use super::{FrameInput, LayoutKind, StatusInfo};
use crate::maps::SIDE;

/// Background behind everything: dark and calm, so white (zero) cells read
/// as "nothing here" and not as glare.
pub(crate) const BACKGROUND: [u8; 3] = [22, 24, 28];
const TEXT: [u8; 4] = [222, 224, 228, 255];
const TEXT_DIM: [u8; 4] = [150, 155, 162, 255];
/// Key names in the help overlay.
pub(crate) const FOCUS: [u8; 4] = [255, 214, 90, 255];
/// The bar under the title of the map in focus in the grids: a calm blue,
/// since yellow and orange on a NOC wall read as a warning.
pub(crate) const FOCUS_MARK: [u8; 4] = [80, 160, 255, 255];
const TICK: [u8; 4] = [120, 125, 132, 255];
/// The frame around every map: a mid grey, apart from the background and
/// from the ends of every colour map (white, black, navy, dark purple).
pub(crate) const MAP_FRAME: [u8; 4] = [128, 134, 142, 255];
/// Marks on an axis (local networks, well-known ports, common lengths) and
/// their labels: a light blue that reads as information, not as an alarm.
const MARK: [u8; 4] = [110, 185, 255, 255];
/// The dark edge of a mark drawn over the cells.
const MARK_SHADOW: [u8; 4] = [0, 0, 0, 255];
const PANEL: [u8; 4] = [8, 9, 12, 235];
const PANEL_EDGE: [u8; 4] = [90, 96, 104, 255];
const HOVER_OUTLINE: [u8; 4] = [255, 40, 140, 255];
const DEMO_BADGE: [u8; 4] = [214, 110, 0, 255];
const STALLED_BADGE: [u8; 4] = [190, 30, 30, 255];
const FROZEN_BADGE: [u8; 4] = [40, 95, 200, 255];
/// The replay has ended: the picture no longer changes.
const END_BADGE: [u8; 4] = [125, 60, 170, 255];
/// Badges of a view other than the default (scale, view, order, colours):
/// they stay while the view does, so a picture is never read on the wrong key.
pub(crate) const MODE_BADGE: [u8; 4] = [0, 105, 115, 255];

/// The badges a frame carries, in order: the source's state, then every
/// part of the view that is not the default. One list, drawn on the status
/// line and in presenter mode alike.
pub(crate) fn badges(frame: &FrameInput<'_>) -> Vec<(String, [u8; 4])> {
    let v = &frame.view;
    let mut out = Vec::new();
    if frame.status.demo {
        out.push(("DEMO".to_string(), DEMO_BADGE));
    }
    if frame.status.stalled {
        out.push(("STALLED".to_string(), STALLED_BADGE));
    }
    if let Some(secs) = frame.status.ended_secs {
        out.push((format!("END {} ago", ago(secs)), END_BADGE));
    }
    if v.frozen {
        out.push(("FROZEN".to_string(), FROZEN_BADGE));
    }
    let upper = |s: &str| s.to_uppercase();
    if v.scale != ScaleMode::default() {
        out.push((format!("SCALE {}", upper(v.scale.name())), MODE_BADGE));
    }
    if v.map_view != MapView::default() {
        out.push((format!("VIEW {}", upper(v.map_view.name())), MODE_BADGE));
    }
    if v.order != super::CellOrder::default() {
        out.push((format!("ORDER {}", upper(v.order.name())), MODE_BADGE));
    }
    if v.colours != super::ColourMap::default() {
        out.push((format!("COLOURS {}", upper(v.colours.name())), MODE_BADGE));
    }
    out
}

/// A flat rectangle, a colour swatch of a value, or a gradient of the scale.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct RectInstance {
    pub rect: [f32; 4],
    pub colour: [f32; 4],
    /// kind (0 solid, 1 value swatch, 2 gradient), v0, v1, unused
    pub params: [f32; 4],
}

impl RectInstance {
    pub(crate) fn solid(r: Rect, c: [u8; 4]) -> Self {
        RectInstance {
            rect: rect_f(r),
            colour: c.map(|v| f32::from(v) / 255.0),
            params: [0.0; 4],
        }
    }

    fn swatch(r: Rect, value: f32) -> Self {
        RectInstance {
            rect: rect_f(r),
            colour: [0.0; 4],
            params: [1.0, value, 0.0, 0.0],
        }
    }

    fn gradient(r: Rect, from: f32, to: f32) -> Self {
        RectInstance {
            rect: rect_f(r),
            colour: [0.0; 4],
            params: [2.0, from, to, 0.0],
        }
    }

    fn diverging_swatch(r: Rect, value: f32) -> Self {
        RectInstance {
            rect: rect_f(r),
            colour: [0.0; 4],
            params: [3.0, value, 0.0, 0.0],
        }
    }

    fn diverging_gradient(r: Rect, from: f32, to: f32) -> Self {
        RectInstance {
            rect: rect_f(r),
            colour: [0.0; 4],
            params: [4.0, from, to, 0.0],
        }
    }
}

/// A map drawn into a rectangle from one layer of the texture array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(crate) struct MapInstance {
    pub rect: [f32; 4],
    pub layer: u32,
    pub _pad: [u32; 3],
}

fn rect_f(r: Rect) -> [f32; 4] {
    [r.x as f32, r.y as f32, r.w as f32, r.h as f32]
}

/// Everything to draw for one frame, in drawing order: base rectangles,
/// the base rectangles that move with a measurement, maps, base text,
/// overlay rectangles, overlay text.
#[derive(Default)]
pub(crate) struct Scene {
    pub clear: [u8; 3],
    /// What stays from frame to frame (map frames, ticks, marks, a steady
    /// key): with the clear colour and the labels clear of the maps it makes
    /// the backdrop a renderer may keep (see `gpu::frame`).
    pub base: Vec<RectInstance>,
    /// Base rectangles placed by a measurement (badges beside the status
    /// line, the swatches of a key whose values change): drawn every frame.
    pub live: Vec<RectInstance>,
    pub maps: Vec<MapInstance>,
    pub overlay: Vec<RectInstance>,
    pub text: Vec<TextItem>,
}

impl Scene {
    /// Empties the scene for the next frame, keeping what its lists hold
    /// room for: a wall's scene has about a thousand rectangles, and growing
    /// the lists from nothing every frame was a third of building it.
    fn reset(&mut self) {
        self.clear = BACKGROUND;
        self.base.clear();
        self.live.clear();
        self.maps.clear();
        self.overlay.clear();
        self.text.clear();
    }
}

/// A time since, for a badge: "8 s", "3 min", "2 h", "4 d".
pub(crate) fn ago(secs: f64) -> String {
    // Not finite or negative (a clock stepped back): no time has passed.
    let s = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
    // Whole units, and far below u64::MAX, so the casts are exact.
    if s < 60.0 {
        format!("{} s", s as u64)
    } else if s < 3600.0 {
        format!("{} min", (s / 60.0) as u64)
    } else if s < 86_400.0 {
        format!("{} h", (s / 3600.0) as u64)
    } else {
        format!("{} d", (s / 86_400.0).min(1e6) as u64)
    }
}

/// Measures text: (text, size) to (width, height) in pixels.
pub(crate) type Measure<'m> = &'m mut dyn FnMut(&str, f32) -> (f32, f32);

/// Formats a rate with thousands separators and sensible precision.
pub(crate) fn format_rate(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "-".into();
    }
    if v < 10.0 {
        return format!("{v:.1}");
    }
    // Rounded, non-negative and finite: the cast is exact for any real rate.
    let n = v.round() as u64;
    group_thousands(n)
}

/// 1234567 -> "1,234,567".
pub(crate) fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The status line's text (without badges). A frame rate of 0 means a
/// headless snapshot, which says so instead of "0 fps".
pub(crate) fn status_text(s: &StatusInfo) -> String {
    let drop_percent = if s.drop_percent.is_finite() {
        s.drop_percent
    } else {
        0.0
    };
    let frames = if s.frames_per_sec.is_finite() && s.frames_per_sec > 0.0 {
        format!("{:.0} fps", s.frames_per_sec)
    } else {
        "snapshot".to_string()
    };
    let shed = if s.shed > 0 {
        format!(", shed {}", group_thousands(s.shed))
    } else {
        String::new()
    };
    format!(
        "{}   {} pkt/s   drops: kernel {}, interface {}{shed} ({:.2} %)   half-life {}   {}   {frames}{}",
        s.source,
        format_rate(s.packets_per_sec),
        group_thousands(s.kernel_drops),
        group_thousands(s.interface_drops),
        drop_percent,
        s.half_life,
        s.packet_clock,
        s.peers,
    )
}

/// Builds into `scene` (emptied first, its lists' room kept) the scene for
/// `frame` as arranged by `arr`.
pub(crate) fn build(frame: &FrameInput<'_>, arr: &Arrangement, measure: Measure<'_>, scene: &mut Scene) {
    scene.reset();
    if frame.view.blank {
        scene.clear = [0, 0, 0];
        return;
    }
    for (layer, slot) in arr.slots.iter().enumerate() {
        let Some(tile) = frame.tiles.get(slot.tile) else {
            continue;
        };
        // A thin grey frame: a map whose cells are all the darkest or the
        // lightest colour never merges with the background or its neighbours.
        // Its edges, not one rectangle under the map: six map-sized fills
        // cost a software renderer as much as the maps.
        let frame_w = ((slot.metrics.font_px / 14.0).round() as i32).max(1);
        for strip in slot.map.inset(-frame_w).edges(frame_w) {
            scene.base.push(RectInstance::solid(strip, MAP_FRAME));
        }
        scene.maps.push(MapInstance {
            rect: rect_f(slot.map),
            // The renderer uploads the shown tiles in slot order.
            layer: layer as u32,
            _pad: [0; 3],
        });
        // In the grids the focus map (what 1-9 and the arrows pick) has a
        // highlighted title; in the other layouts it is the large one.
        let grid = matches!(frame.view.layout, LayoutKind::Grid3x2 | LayoutKind::Grid2x3);
        let focused = grid && !frame.view.presenter && arr.slots.len() > 1 && slot.tile == frame.view.focus;
        tile_decorations(scene, slot, tile, focused, &frame.view, measure);
    }
    if let (Some(cap), Some(slot)) = (arr.caption, arr.slots.first())
        && let Some(tile) = frame.tiles.get(slot.tile)
    {
        caption(
            scene,
            cap,
            &caption_text(tile, &frame.view),
            slot.tile,
            frame.tiles.len(),
        );
    }
    if let Some(cap) = arr.caption
        && !arr.footers.iter().any(|f| f.status)
    {
        // Presenter mode has no status line, but DEMO, END and the view's
        // badges must still show: the audience must never take synthetic or
        // finished traffic for live traffic. They sit above the map counter.
        let f = (cap.w as f32 / 26.0).clamp(12.0, 40.0) * 0.7;
        let line_h = (f * 1.9).round() as i32;
        let y = cap.bottom() - (f * LINE_HEIGHT).ceil() as i32 - line_h - (f * 0.4) as i32;
        badge_row(scene, &badges(frame), cap.x, y, f, measure);
    }
    let key = legend_key(frame, arr);
    for footer in &arr.footers {
        legend(scene, footer, &key, measure);
        if footer.status {
            status(scene, footer, frame, measure);
        }
    }
    if frame.tiles.is_empty() {
        let f = (arr.screen.h as f32 / 30.0).max(12.0);
        scene.text.push(
            TextItem::new(
                "no maps to show",
                arr.screen.w as f32 / 2.0,
                arr.screen.h as f32 / 2.0 - f,
                f,
                TEXT_DIM,
            )
            .anchored(Anchor::Centre),
        );
    }
    let curve = |tile: usize| {
        frame
            .tiles
            .get(tile)
            .is_some_and(|t| t.follows_curve(frame.view.order))
    };
    super::marks::draw(
        scene,
        arr,
        &frame.view.events,
        curve,
        frame.view.order,
        &mut *measure,
    );
    if let Some(h) = &frame.view.hover {
        hover(scene, arr, h, measure);
    }
    if !frame.view.help.is_empty() {
        help(scene, arr.screen, frame, measure);
    }
    if let Some(n) = &frame.view.notice {
        notice(scene, arr.screen, n, measure);
    }
}

/// Title, per-map rate, ticks every 8 cells on all four edges (16 along the
/// Hilbert curve) and the labels ([`axis_labels`], [`curve_square_labels`]).
fn tile_decorations(
    scene: &mut Scene,
    slot: &TileSlot,
    tile: &super::TileInput<'_>,
    focused: bool,
    view: &super::ViewState,
    measure: Measure<'_>,
) {
    let (order, local) = (view.order, &view.local);
    let m = slot.metrics;
    let f = m.font_px;
    let region = slot.region;
    let map = slot.map;
    if map.w == 0 {
        return;
    }
    let title_size = m.title_px;
    // The title line sits over the block [row labels | map]; when title and
    // rate need more room it widens about the block's centre, within the region.
    let (rate_text, rate_w) = rate_label(tile.rate_pps, f, region.w - 2 * m.pad, measure);
    let (title_w, _) = measure(tile.def.title, title_size);
    let block_l = map.x - m.tick - m.label_w;
    let block_r = map.right() + m.tick;
    let need = (title_w + rate_w + f * 1.5).ceil() as i32;
    let (mut left, mut right) = (block_l, block_r);
    if need > block_r - block_l {
        let centre = (block_l + block_r) / 2;
        left = (centre - need / 2).max(region.x + m.pad);
        right = (left + need).min(region.right() - m.pad);
    }
    let title_y = (map.y - m.tick - m.label_h - m.title_h) as f32 + title_size * 0.05;
    let mut title = TextItem::new(tile.def.title, left as f32, title_y, title_size, TEXT);
    if focused {
        // A bar under the title line, as wide as the map: marks the focus
        // without a colour that reads as an alarm.
        let bar_h = ((title_size / 10.0).round() as i32).max(2);
        let bar_y = map.y - m.tick - m.label_h - bar_h;
        scene.base.push(RectInstance::solid(
            Rect::new(map.x, bar_y, map.w, bar_h),
            FOCUS_MARK,
        ));
    }
    // The title ends where the rate begins, however large the rate: a title
    // that does not fit is cut, never overwritten.
    let rate_left = (right as f32 - rate_w).max(left as f32);
    let title_end = ((rate_left - f * 0.5).floor() as i32).max(left);
    title.clip = Some([region.x, region.y, title_end, region.bottom()]);
    scene.text.push(title);
    let mut rate = TextItem::new(
        rate_text,
        right as f32,
        title_y + (title_size - f) * 0.8,
        f,
        TEXT_DIM,
    )
    .anchored(Anchor::Right)
    .live();
    rate.clip = Some([left, region.y, region.right(), region.bottom()]);
    scene.text.push(rate);

    // Cell boundary k (0..=256) in pixels, on each axis.
    let edge =
        |k: i32, origin: i32| -> i32 { origin + ((k * map.w) as f32 / SIDE as f32 - 0.5).ceil() as i32 };
    let thick = ((f / 14.0).round() as i32).max(1);
    // Along the Hilbert curve the ticks mark the /24 squares (16 cells),
    // the long ones the /20 squares (64) that are labelled inside.
    let curve = tile.follows_curve(order);
    let (tick_step, long_every) = if curve { (16, 64) } else { (8, 32) };
    for k in (0..=SIDE as i32).step_by(tick_step) {
        let len = if k % long_every == 0 {
            m.tick
        } else {
            (m.tick * 3 / 5).max(2)
        };
        let x = edge(k, map.x).min(map.right() - thick).max(map.x);
        let y = edge(k, map.y).min(map.bottom() - thick).max(map.y);
        // Top and bottom edges: vertical ticks at column boundaries.
        scene
            .base
            .push(RectInstance::solid(Rect::new(x, map.y - len, thick, len), TICK));
        scene
            .base
            .push(RectInstance::solid(Rect::new(x, map.bottom(), thick, len), TICK));
        // Left and right edges: horizontal ticks at row boundaries.
        scene
            .base
            .push(RectInstance::solid(Rect::new(map.x - len, y, len, thick), TICK));
        scene
            .base
            .push(RectInstance::solid(Rect::new(map.right(), y, len, thick), TICK));
    }
    if curve {
        curve_local_outlines(scene, slot, tile, local);
        curve_square_labels(scene, slot, local, measure);
    } else {
        axis_labels(scene, slot, tile, local, measure);
    }
}

/// A map's packet rate as its title line shows it, and its width: grouped
/// digits (`18,163 pkt/s`), or shortened (`1.2M pkt/s`) where those would
/// take more than a third of the `room` a tile has for title and rate.
fn rate_label(pps: f64, f: f32, room: i32, measure: Measure<'_>) -> (String, f32) {
    let full = format!("{} pkt/s", format_rate(pps));
    let (w, _) = measure(&full, f);
    if w <= room as f32 / 3.0 || !pps.is_finite() || pps < 10_000.0 {
        return (full, w);
    }
    // Any finite rate: short_number says k and M and keeps three digits.
    let short = format!("{} pkt/s", short_number(pps as f32));
    let (w, _) = measure(&short, f);
    (short, w)
}

/// The label step (32, 64 or 128 cells) at which labels `need` pixels apart
/// fit on an axis `side` pixels long: small maps label every other mark
/// rather than run their numbers together ("128160192224").
fn label_step(side: i32, need: f32) -> usize {
    let per_cell = side as f32 / SIDE as f32;
    [32usize, 64, 128]
        .into_iter()
        .find(|&step| per_cell * step as f32 >= need)
        .unwrap_or(128)
}

/// Labels of a map in row order: column numbers above it, and left of it
/// the rows (`10.20.96.x`, ports, lengths) after the map key's marks (local
/// networks, well-known ports, common lengths: an accent bar beside the
/// rows, a tick over the column of a single marked cell), which keep their
/// labels where the two would overlap.
fn axis_labels(
    scene: &mut Scene,
    slot: &TileSlot,
    tile: &super::TileInput<'_>,
    local: &crate::known::LocalPrefix,
    measure: Measure<'_>,
) {
    let m = slot.metrics;
    let f = m.font_px;
    let (map, region) = (slot.map, slot.region);
    let edge =
        |k: i32, origin: i32| -> i32 { origin + ((k * map.w) as f32 / SIDE as f32 - 0.5).ceil() as i32 };
    let line = f * LINE_HEIGHT;
    // Columns: the widest number and a gap between neighbours.
    let (widest, _) = measure("224", f);
    let col_step = label_step(map.w, widest + f * 1.5);
    for k in (0..SIDE as i32).step_by(col_step) {
        let mut col = TextItem::new(
            k.to_string(),
            edge(k, map.x) as f32,
            (map.y - m.tick) as f32 - line,
            f,
            TEXT_DIM,
        );
        col.anchor = if k == 0 { Anchor::Left } else { Anchor::Centre };
        scene.text.push(col);
    }
    let row_clip = Some([region.x, region.y, map.x, region.bottom()]);
    let label_x = (map.x - m.tick - m.pad / 2) as f32;
    // The top of a row label centred on `y`, kept from rising above the map.
    let top_at = |y: f32| (y - line * 0.5).max(map.y as f32 - line * 0.2);
    let mut taken: Vec<(f32, f32)> = Vec::new();
    let free = |taken: &[(f32, f32)], top: f32| taken.iter().all(|&(a, b)| top + line <= a || top >= b);
    let bar_w = (m.tick * 2 / 3).max(3);
    for mark in tile.def.key.marks(local) {
        let (r0, r1) = (i32::from(mark.first >> 8), i32::from(mark.last >> 8));
        let (y0, y1) = (edge(r0, map.y), edge(r1 + 1, map.y));
        let bar = Rect::new(map.x - bar_w, y0, bar_w, (y1 - y0).max(2));
        scene.base.push(RectInstance::solid(bar, MARK));
        if mark.first == mark.last {
            // One cell: its column too, on the top and bottom edges.
            let c = i32::from(mark.first & 0xff);
            let x = (edge(c, map.x) + edge(c + 1, map.x)) / 2 - bar_w / 2;
            let x = x.clamp(map.x, (map.right() - bar_w).max(map.x));
            scene.base.push(RectInstance::solid(
                Rect::new(x, map.y - m.tick, bar_w, m.tick),
                MARK,
            ));
            scene.base.push(RectInstance::solid(
                Rect::new(x, map.bottom(), bar_w, m.tick),
                MARK,
            ));
        }
        let top = top_at((y0 + y1) as f32 / 2.0);
        if free(&taken, top) {
            taken.push((top, top + line));
            let mut item = TextItem::new(mark.label, label_x, top, f, MARK).anchored(Anchor::Right);
            item.clip = row_clip;
            scene.text.push(item);
        }
    }
    let row_step = label_step(map.h, line * 1.05);
    for k in (0..SIDE as i32).step_by(row_step) {
        let top = if k == 0 {
            map.y as f32 - line * 0.2
        } else {
            top_at(edge(k, map.y) as f32)
        };
        if !free(&taken, top) {
            continue;
        }
        taken.push((top, top + line));
        // `k` is 0..=224, a valid row.
        let mut row = TextItem::new(tile.def.key.row_label(k as u16, local), label_x, top, f, TEXT_DIM)
            .anchored(Anchor::Right);
        row.clip = row_clip;
        scene.text.push(row);
    }
}

/// Labels of an address map along the Hilbert curve, as ipv4-heatmap draws
/// them: each /20 (16 /24s, a 64 x 64 square of cells) is named inside its
/// square's top left corner (`10.20.16.0/20`), so a /24 is found by its
/// square and not by numbers on the axes, which mean nothing along the
/// curve. Light text on a dark shadow reads on any colour; where the squares
/// are too small for it to be read, there are none.
fn curve_square_labels(
    scene: &mut Scene,
    slot: &TileSlot,
    local: &crate::known::LocalPrefix,
    measure: Measure<'_>,
) {
    let map = slot.map;
    let f = slot.metrics.font_px;
    let edge =
        |k: i32, origin: i32| -> i32 { origin + ((k * map.w) as f32 / SIDE as f32 - 0.5).ceil() as i32 };
    let square = edge(64, map.x) - map.x;
    let widest = local.block(240, 20);
    let (w, _) = measure(&widest, f);
    let size = (f * (square as f32 * 0.9) / w.max(1.0)).min(f);
    if size < 8.0 {
        return;
    }
    let inset = (size * 0.25).max(2.0);
    let shadow = (size / 12.0).max(1.0);
    let clip = Some([map.x, map.y, map.right(), map.bottom()]);
    for block in 0u16..16 {
        // The first key of the block and the square it fills.
        let (x, y) = crate::hilbert::d2xy(block << 12);
        let (sx, sy) = (i32::from(x & !63), i32::from(y & !63));
        let text = local.block((block * 16) as u8, 20);
        let (px, py) = (
            edge(sx, map.x) as f32 + inset,
            edge(sy, map.y) as f32 + inset * 0.5,
        );
        let mut back = TextItem::new(text.clone(), px + shadow, py + shadow, size, [0, 0, 0, 200]);
        back.clip = clip;
        scene.text.push(back);
        let mut front = TextItem::new(text, px, py, size, [255, 255, 255, 235]);
        front.clip = clip;
        scene.text.push(front);
    }
}

/// Along the Hilbert curve, the map key's marks (the local networks
/// narrower than a /16) outlined where their cells lie: a /24 is a 16 x 16
/// square there, an aligned block of them a square or two side by side, so
/// a frame around the block's squares is exactly its cells. In row order
/// the same marks are accent bars beside the rows ([`axis_labels`]). Drawn
/// over the cells, thin, in the accent colour on a dark edge.
fn curve_local_outlines(
    scene: &mut Scene,
    slot: &TileSlot,
    tile: &super::TileInput<'_>,
    local: &crate::known::LocalPrefix,
) {
    let t = (slot.map.w / SIDE as i32).clamp(1, 3);
    for mark in tile.def.key.marks(local) {
        let (first, last) = (mark.first >> 8, mark.last >> 8);
        let squares = (first..=last).map(|row| {
            // The square of row `row`'s 256 keys: 16 x 16 cells, aligned.
            let (x, y) = crate::hilbert::d2xy(row << 8);
            let (x, y) = (x & !15, y & !15);
            let (a, b) = (slot.cell_rect(y, x), slot.cell_rect(y + 15, x + 15));
            Rect::new(a.x, a.y, b.right() - a.x, b.bottom() - a.y)
        });
        let Some(r) = squares.reduce(|a, b| {
            let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
            Rect::new(
                x0,
                y0,
                a.right().max(b.right()) - x0,
                a.bottom().max(b.bottom()) - y0,
            )
        }) else {
            continue;
        };
        // A dark line just outside the accent one, so the frame reads on a
        // busy map of any colour.
        let dark = Rect::new(r.x - 1, r.y - 1, r.w + 2, r.h + 2);
        for (r, t, colour) in [(dark, 1, MARK_SHADOW), (r, t, MARK)] {
            for side in r.edges(t) {
                scene.overlay.push(RectInstance::solid(side, colour));
            }
        }
    }
}

/// Presenter mode's caption for `tile` under `view`: what a pixel is and how
/// the axes run (row order or the curve), what its lines and bands mean, and
/// what its colours mean in this colour map, scale mode and view. Built from
/// parts so it is true whichever keys were pressed.
pub(crate) fn caption_text(tile: &super::TileInput<'_>, view: &super::ViewState) -> String {
    let curve = tile.follows_curve(view.order);
    let axes = if curve {
        "Each pixel is one destination address, drawn along a Hilbert curve: each /24 is a \
         16 x 16 square, neighbouring /24s side by side (labels name each /20, a square of 16 /24s)."
    } else {
        tile.def.key.axes_sentence()
    };
    let reading = match (curve, tile.def.caption_curve) {
        (true, Some(c)) => c,
        _ => tile.def.caption,
    };
    let colours = if view.map_view == MapView::Change && tile.baseline.is_some() {
        "Warm colours receive more packets than usual (the slow baseline), cool colours \
         fewer, the neutral middle as usual."
            .to_string()
    } else {
        let (none, most) = view.colours.words();
        let scale = match view.scale {
            ScaleMode::Paper => "255 or more within the half-life",
            ScaleMode::Auto => "auto gain: a typical cell of this map is mid-scale",
            ScaleMode::Log => "log scale up to this map's busiest cell",
            ScaleMode::Rank => "colour by rank among this map's busy cells",
        };
        let mut none = none.to_string();
        if let Some(first) = none.get(..1) {
            none = first.to_uppercase() + none.get(1..).unwrap_or("");
        }
        format!("{none} is no packets, {most} the most ({scale}).")
    };
    format!("{axes} {reading} {colours}")
}

/// Presenter mode's caption: the plain-language explanation of the map.
fn caption(scene: &mut Scene, area: Rect, text: &str, index: usize, count: usize) {
    let f = (area.w as f32 / 26.0).clamp(12.0, 40.0);
    let mut item = TextItem::new(text, area.x as f32, area.y as f32, f, TEXT);
    item.wrap = Some(area.w as f32);
    item.clip = Some([area.x, area.y, area.right(), area.bottom()]);
    scene.text.push(item);
    let small = f * 0.7;
    scene.text.push(TextItem::new(
        format!(
            "map {} of {}   PageDown / PageUp: next / previous",
            index + 1,
            count
        ),
        area.x as f32,
        area.bottom() as f32 - small * LINE_HEIGHT,
        small,
        TEXT_DIM,
    ));
}

/// What the legend shows for the current view: a title and, per swatch, the
/// value the shader colours (on the sequential or diverging scale) and its label.
pub(crate) struct LegendKey {
    pub title: String,
    pub diverging: bool,
    pub swatches: Vec<(f32, String)>,
    /// The numbers follow the map in focus and change with it (auto, log, rank).
    pub changing: bool,
}

/// The legend for `frame`'s view. Scale modes whose numbers change (auto,
/// log, rank) label the stops with the current values of the map in focus.
pub(crate) fn legend_key(frame: &FrameInput<'_>, arr: &Arrangement) -> LegendKey {
    let stops = frame.view.colours.stops();
    let focus = frame
        .tiles
        .get(frame.view.focus)
        .or_else(|| arr.slots.first().and_then(|s| frame.tiles.get(s.tile)));
    let name = focus.map_or("", |t| t.def.name);
    let empty = MapScale::default();
    let scale = focus.and_then(|t| t.scale).unwrap_or(&empty);
    let has_baseline = !frame.tiles.is_empty() && frame.tiles.iter().all(|t| t.baseline.is_some());
    if frame.view.map_view == MapView::Change && has_baseline {
        return LegendKey {
            title: "now vs baseline".into(),
            diverging: true,
            swatches: DIVERGING_SCALE
                .iter()
                .map(|s| (s.value, s.label.to_string()))
                .collect(),
            changing: false,
        };
    }
    let last = MAX_STOPS - 1;
    let position = |i: usize| i as f32 / last as f32;
    let (title, labels): (String, Vec<String>) = match frame.view.scale {
        ScaleMode::Paper => (
            "packets".into(),
            stops.iter().map(|s| s.label.to_string()).collect(),
        ),
        ScaleMode::Auto => (
            format!("packets, auto x{} ({name})", short_gain(scale.gain)),
            stops
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let v = short_number(s.value / scale.gain.max(f32::MIN_POSITIVE));
                    if i == last { format!("{v}+") } else { v }
                })
                .collect(),
        ),
        ScaleMode::Log => (
            format!("packets, log ({name})"),
            (0..=last)
                .map(|i| short_number(scale.log_value(position(i))))
                .collect(),
        ),
        ScaleMode::Rank => (
            format!("packets, rank ({name})"),
            (0..=last)
                .map(|i| {
                    if i == 0 {
                        "0".to_string()
                    } else {
                        let q = (position(i) - RANK_FLOOR) / (1.0 - RANK_FLOOR);
                        short_number(scale.value_at_rank(q.max(0.0)))
                    }
                })
                .collect(),
        ),
    };
    let title = if frame.view.map_view == MapView::Change {
        format!("{title} (no baseline: --baseline off)")
    } else {
        title
    };
    LegendKey {
        title,
        diverging: false,
        swatches: stops.iter().zip(labels).map(|(s, l)| (s.value, l)).collect(),
        changing: frame.view.scale != ScaleMode::Paper,
    }
}

/// A gain as the legend prints it: three significant digits.
fn short_gain(g: f32) -> String {
    if g >= 100.0 {
        format!("{g:.0}")
    } else if g >= 1.0 {
        format!("{g:.2}")
    } else {
        format!("{g:.3}")
    }
}

/// The colour legend: a swatch per stop with its value, and the continuous
/// scale underneath. Swatches are coloured by the shader from the stop value,
/// so they prove the table and the shader agree.
fn legend(scene: &mut Scene, footer: &Footer, key: &LegendKey, measure: Measure<'_>) {
    let f = footer.font_px;
    let a = footer.area;
    let line_h = (f * 1.9).round() as i32;
    let pad = (f * 0.6).round() as i32;
    let s = (f * 1.1).round() as i32;
    let top = a.y + (f * 0.25) as i32;
    let swatch_y = top + (line_h - s) / 2 - (f * 0.15) as i32;
    let mut x = a.x + pad;
    let label = key.title.as_str();
    let (lw, _) = measure(label, f);
    let item = |text: &str, x: i32, colour| {
        let item = TextItem::new(
            text,
            x as f32,
            top as f32 + (line_h as f32 - f * LINE_HEIGHT) / 2.0,
            f,
            colour,
        );
        if key.changing { item.live() } else { item }
    };
    scene.text.push(item(label, x, TEXT_DIM));
    x += lw.ceil() as i32 + pad;
    // A key whose values change moves with their widths: its swatches and
    // bar are drawn every frame, like its text.
    let rects = if key.changing {
        &mut scene.live
    } else {
        &mut scene.base
    };
    let mut centres = Vec::new();
    for (value, text) in &key.swatches {
        let sw = Rect::new(x, swatch_y, s, s);
        rects.push(RectInstance::solid(sw.inset(-1), PANEL_EDGE));
        rects.push(if key.diverging {
            RectInstance::diverging_swatch(sw, *value)
        } else {
            RectInstance::swatch(sw, *value)
        });
        centres.push((x + s / 2, *value));
        x += s + (f * 0.3) as i32;
        let (w, _) = measure(text, f);
        scene.text.push(item(text, x, TEXT));
        x += w.ceil() as i32 + (f * 0.9) as i32;
    }
    // The continuous scale, a thin bar under the swatches.
    let bar_y = swatch_y + s + (f * 0.2).max(2.0) as i32;
    let bar_h = (f * 0.25).max(3.0) as i32;
    for pair in centres.windows(2) {
        let ((x0, v0), (x1, v1)) = (pair[0], pair[1]);
        let r = Rect::new(x0, bar_y, x1 - x0, bar_h);
        rects.push(if key.diverging {
            RectInstance::diverging_gradient(r, v0, v1)
        } else {
            RectInstance::gradient(r, v0, v1)
        });
    }
}

/// The status line with DEMO / STALLED / FROZEN badges.
fn status(scene: &mut Scene, footer: &Footer, frame: &FrameInput<'_>, measure: Measure<'_>) {
    let f = footer.font_px;
    let a = footer.area;
    let pad = (f * 0.6).round() as i32;
    let line_h = (f * 1.9).round() as i32;
    let text = status_text(&frame.status);
    let (tw, _) = measure(&text, f);
    let top = if footer.two_lines {
        a.y + (f * 0.25) as i32 + line_h
    } else {
        a.y + (f * 0.25) as i32
    };
    let text_y = top as f32 + (line_h as f32 - f * LINE_HEIGHT) / 2.0;
    let badges = badges(frame);
    let total = tw.ceil() as i32 + badge_row_width(&badges, f, measure);
    let x = if footer.two_lines {
        a.x + pad
    } else {
        a.right() - pad - total
    };
    let x = badge_row(scene, &badges, x, top, f, measure);
    scene
        .text
        .push(TextItem::new(text, x as f32, text_y, f, TEXT).live());
}

/// The width of a row of badges in text of `f` pixels, with the gap after it.
fn badge_row_width(badges: &[(String, [u8; 4])], f: f32, measure: Measure<'_>) -> i32 {
    let pad = (f * 0.6).round() as i32;
    badges
        .iter()
        .map(|(b, _)| measure(b, f).0.ceil() as i32 + pad + pad / 2)
        .sum()
}

/// Draws `badges` left to right from `x` on a line of text `f` pixels high
/// whose box starts at `top`; returns the x after the last one.
fn badge_row(
    scene: &mut Scene,
    badges: &[(String, [u8; 4])],
    mut x: i32,
    top: i32,
    f: f32,
    measure: Measure<'_>,
) -> i32 {
    let pad = (f * 0.6).round() as i32;
    let line_h = (f * 1.9).round() as i32;
    let text_y = top as f32 + (line_h as f32 - f * LINE_HEIGHT) / 2.0;
    for (label, colour) in badges {
        let w = measure(label, f).0.ceil() as i32 + pad;
        let r = Rect::new(x, top + (f * 0.2) as i32, w, line_h - (f * 0.4) as i32);
        // Live, like its text: on a one-line footer the row moves with the
        // width of the status line.
        scene.live.push(RectInstance::solid(r, *colour));
        // Live: the END badge counts the time since the replay ended.
        scene.text.push(
            TextItem::new(
                label.as_str(),
                (x + w / 2) as f32,
                text_y,
                f,
                [255, 255, 255, 255],
            )
            .anchored(Anchor::Centre)
            .live(),
        );
        x += w + pad / 2;
    }
    x
}

/// The hover readout: the cell outlined and a box of text near the pointer.
fn hover(scene: &mut Scene, arr: &Arrangement, h: &super::Hover, measure: Measure<'_>) {
    let f = arr.footers.first().map_or(14.0, |footer| footer.font_px);
    if let Some((slot, row, col)) = arr.hit(h.x, h.y) {
        for r in slot.cell_rect(row, col).inset(-2).edges(1) {
            scene.overlay.push(RectInstance::solid(r, HOVER_OUTLINE));
        }
    }
    let lines: Vec<&str> = h.text.lines().collect();
    let pad = (f * 0.5) as i32;
    let line_h = (f * LINE_HEIGHT).ceil() as i32;
    let w = lines
        .iter()
        .map(|l| measure(l, f).0.ceil() as i32)
        .max()
        .unwrap_or(0)
        + 2 * pad;
    let hgt = line_h * lines.len() as i32 + 2 * pad;
    let gap = (f * 1.2) as i32;
    let mut x = h.x + gap;
    let mut y = h.y + gap;
    if x + w > arr.screen.right() {
        x = h.x - gap - w;
    }
    if y + hgt > arr.screen.bottom() {
        y = h.y - gap - hgt;
    }
    let panel = Rect::new(x.max(0), y.max(0), w, hgt);
    scene
        .overlay
        .push(RectInstance::solid(panel.inset(-1), PANEL_EDGE));
    scene.overlay.push(RectInstance::solid(panel, PANEL));
    for (i, l) in lines.iter().enumerate() {
        scene.text.push(
            TextItem::new(
                *l,
                (panel.x + pad) as f32,
                (panel.y + pad + line_h * i as i32) as f32,
                f,
                TEXT,
            )
            .on_overlay(),
        );
    }
}

/// The help overlay: the key table, centred over everything.
fn help(scene: &mut Scene, screen: Rect, frame: &FrameInput<'_>, measure: Measure<'_>) {
    let f = (screen.h as f32 / 48.0).clamp(11.0, 40.0);
    let line_h = (f * 1.45).ceil() as i32;
    let pad = (f * 1.2) as i32;
    let title = "Keys";
    let keys_w = frame
        .view
        .help
        .iter()
        .map(|l| measure(&l.keys, f).0.ceil() as i32)
        .max()
        .unwrap_or(0);
    let action_w = frame
        .view
        .help
        .iter()
        .map(|l| measure(&l.action, f).0.ceil() as i32)
        .max()
        .unwrap_or(0);
    let gap = (f * 2.0) as i32;
    let w = (keys_w + gap + action_w + 2 * pad).min(screen.w);
    let h = (line_h * (frame.view.help.len() as i32 + 2) + 2 * pad).min(screen.h);
    let panel = Rect::new(screen.x + (screen.w - w) / 2, screen.y + (screen.h - h) / 2, w, h);
    scene
        .overlay
        .push(RectInstance::solid(panel.inset(-2), PANEL_EDGE));
    scene.overlay.push(RectInstance::solid(panel, PANEL));
    let clip = Some([panel.x, panel.y, panel.right(), panel.bottom()]);
    let mut t = TextItem::new(
        title,
        (panel.x + pad) as f32,
        (panel.y + pad) as f32,
        f * 1.2,
        TEXT,
    )
    .on_overlay();
    t.clip = clip;
    scene.text.push(t);
    for (i, line) in frame.view.help.iter().enumerate() {
        let y = (panel.y + pad + line_h * (i as i32 + 2)) as f32;
        let mut k = TextItem::new(line.keys.clone(), (panel.x + pad) as f32, y, f, FOCUS).on_overlay();
        k.clip = clip;
        scene.text.push(k);
        let mut a = TextItem::new(
            line.action.clone(),
            (panel.x + pad + keys_w + gap) as f32,
            y,
            f,
            TEXT,
        )
        .on_overlay();
        a.clip = clip;
        scene.text.push(a);
    }
}

/// A short message at the top centre.
fn notice(scene: &mut Scene, screen: Rect, text: &str, measure: Measure<'_>) {
    let f = (screen.h as f32 / 50.0).clamp(11.0, 36.0);
    let (w, _) = measure(text, f);
    let pad = (f * 0.6) as i32;
    let w = w.ceil() as i32 + 2 * pad;
    let h = (f * LINE_HEIGHT).ceil() as i32 + 2 * pad;
    let panel = Rect::new(screen.x + (screen.w - w) / 2, screen.y + pad, w, h);
    scene
        .overlay
        .push(RectInstance::solid(panel.inset(-1), PANEL_EDGE));
    scene.overlay.push(RectInstance::solid(panel, PANEL));
    scene
        .text
        .push(TextItem::new(text, (panel.x + pad) as f32, (panel.y + pad) as f32, f, TEXT).on_overlay());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a scene holds, to compare two.
    fn contents(scene: &Scene) -> String {
        format!(
            "{:?}",
            (
                scene.clear,
                &scene.base,
                &scene.live,
                &scene.maps,
                &scene.overlay,
                &scene.text
            )
        )
    }

    /// The renderer builds every frame into the last frame's scene: whatever
    /// the last frame held (six tiles, help, hover, a notice), the next is
    /// what a fresh scene would hold, a blank screen and one tile included.
    #[test]
    fn a_scene_built_into_a_used_one_is_a_fresh_build() {
        let values = vec![1.0f32; crate::maps::CELLS];
        let tiles = |n: usize| -> Vec<super::super::TileInput<'_>> {
            crate::maps::MAPS[..n]
                .iter()
                .map(|def| super::super::TileInput {
                    def,
                    values: &values,
                    rate_pps: 12.0,
                    baseline: None,
                    scale: None,
                })
                .collect()
        };
        let busy = FrameInput {
            tiles: tiles(6),
            status: StatusInfo::default(),
            view: super::super::ViewState {
                help: crate::ui::keys::help_lines(),
                hover: Some(super::super::Hover {
                    x: 300,
                    y: 300,
                    text: "x.x.37.200\n8 packets".into(),
                }),
                notice: Some("screenshot saved".into()),
                ..Default::default()
            },
        };
        let blank = FrameInput {
            tiles: tiles(6),
            status: StatusInfo::default(),
            view: super::super::ViewState {
                blank: true,
                ..Default::default()
            },
        };
        let single = FrameInput {
            tiles: tiles(1),
            status: StatusInfo::default(),
            view: super::super::ViewState::default(),
        };
        let mut measure = |text: &str, size: f32| (text.len() as f32 * size * 0.5, size);
        let mut used = Scene::default();
        for frame in [&busy, &blank, &single, &busy] {
            let arr = frame.view.arrange(frame.tiles.len(), 1920, 1080);
            let mut fresh = Scene::default();
            build(frame, &arr, &mut measure, &mut fresh);
            build(frame, &arr, &mut measure, &mut used);
            assert_eq!(contents(&used), contents(&fresh));
            assert!(!fresh.base.is_empty() || frame.view.blank);
        }
    }

    /// Issue #21: a local /24 was marked beside its row in row order but
    /// not at all along the Hilbert curve. There it is outlined: a frame
    /// around exactly its 16 x 16 square of cells (a /23, two squares side
    /// by side), in the accent colour, over the cells.
    #[test]
    fn local_networks_are_outlined_along_the_curve() {
        let values = vec![0.0f32; crate::maps::CELLS];
        let all = crate::maps::MAPS
            .iter()
            .find(|d| d.name == "all")
            .expect("the all map");
        for (nets, rows) in [
            (vec![([10, 20, 117, 0], 24)], (117u16, 117u16)),
            (vec![([10, 20, 116, 0], 23)], (116, 117)),
        ] {
            let frame = FrameInput {
                tiles: vec![super::super::TileInput {
                    def: all,
                    values: &values,
                    rate_pps: 0.0,
                    baseline: None,
                    scale: None,
                }],
                status: StatusInfo::default(),
                view: super::super::ViewState {
                    order: super::super::CellOrder::Hilbert,
                    local: crate::known::LocalPrefix::from_v4(&nets),
                    ..Default::default()
                },
            };
            let mut measure = |text: &str, size: f32| (text.len() as f32 * size * 0.5, size);
            let arr = frame.view.arrange(1, 1920, 1080);
            let mut scene = Scene::default();
            build(&frame, &arr, &mut measure, &mut scene);
            let slot = &arr.slots[0];
            // The cells the local rows fill along the curve, on screen.
            let cells: Vec<Rect> = (rows.0..=rows.1)
                .flat_map(|row| (0..256u16).map(move |c| crate::hilbert::d2xy(row << 8 | c)))
                .map(|(x, y)| slot.cell_rect(y, x))
                .collect();
            let x0 = cells.iter().map(|r| r.x).min().expect("cells");
            let y0 = cells.iter().map(|r| r.y).min().expect("cells");
            let x1 = cells.iter().map(|r| r.right()).max().expect("cells");
            let y1 = cells.iter().map(|r| r.bottom()).max().expect("cells");
            assert_eq!(cells.len(), 256 * usize::from(rows.1 - rows.0 + 1));
            let accent: Vec<[f32; 4]> = scene
                .overlay
                .iter()
                .filter(|r| r.colour == MARK.map(|v| f32::from(v) / 255.0))
                .map(|r| r.rect)
                .collect();
            assert_eq!(accent.len(), 4, "{nets:?}: one frame of four sides");
            let (lx, ly) = (
                accent.iter().map(|r| r[0]).fold(f32::MAX, f32::min),
                accent.iter().map(|r| r[1]).fold(f32::MAX, f32::min),
            );
            let rx = accent.iter().map(|r| r[0] + r[2]).fold(0.0, f32::max);
            let by = accent.iter().map(|r| r[1] + r[3]).fold(0.0, f32::max);
            assert_eq!(
                (lx, ly, rx, by),
                (x0 as f32, y0 as f32, x1 as f32, y1 as f32),
                "{nets:?}"
            );
            // The block is as many cells as it holds: nothing else framed.
            let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
            let cell = slot.map.w as f32 / 256.0;
            assert!((w * h / (cell * cell) - cells.len() as f32).abs() < cells.len() as f32 * 0.1);
        }
    }

    /// Issue #21: the presenter caption said "row: 3rd octet" in Hilbert
    /// order and "dark areas receive the most packets" in viridis, where
    /// dark is least. Every map, order, colour map, scale and view now gets
    /// a caption whose axes and colours are those on screen.
    #[test]
    fn captions_are_true_for_every_view() {
        use super::super::{CellOrder, ColourMap, TileInput, ViewState};
        use crate::maps::Key;
        let values = vec![1.0f32; crate::maps::CELLS];
        for def in &crate::maps::MAPS {
            for order in CellOrder::ALL {
                for &colours in &ColourMap::ALL {
                    for &scale in ScaleMode::ALL {
                        for &map_view in MapView::ALL {
                            let tile = TileInput {
                                def,
                                values: &values,
                                rate_pps: 1.0,
                                baseline: Some(&values),
                                scale: None,
                            };
                            let view = ViewState {
                                order: *order,
                                colours,
                                scale,
                                map_view,
                                ..ViewState::default()
                            };
                            let c = caption_text(&tile, &view);
                            let what = format!("{} {order} {colours} {scale} {map_view}: {c}", def.name);
                            let curve = tile.follows_curve(*order);
                            assert_eq!(c.contains("Hilbert"), curve, "{what}");
                            assert_eq!(
                                c.contains("3rd octet"),
                                !curve && def.key == Key::DstAddrLow16,
                                "{what}"
                            );
                            assert!(!c.contains("horizontal line") || !curve, "{what}");
                            assert!(!c.to_lowercase().contains("dark areas"), "{what}");
                            if map_view == MapView::Change {
                                assert!(c.contains("Warm colours"), "{what}");
                            } else {
                                let (none, most) = colours.words();
                                assert!(
                                    c.to_lowercase().contains(&format!("{none} is no packets")),
                                    "{what}"
                                );
                                assert!(c.contains(&format!("{most} the most")), "{what}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Issue #21: a huge per-map pkt/s label ran into the map title. The
    /// title now ends before the rate, which stays inside its tile.
    #[test]
    fn a_huge_rate_never_runs_into_the_title_or_out_of_its_tile() {
        let values = vec![0.0f32; crate::maps::CELLS];
        let tiles: Vec<super::super::TileInput<'_>> = crate::maps::MAPS[..6]
            .iter()
            .map(|def| super::super::TileInput {
                def,
                values: &values,
                rate_pps: 987_654_321_987.0,
                baseline: None,
                scale: None,
            })
            .collect();
        // Roughly DejaVu Sans' widths.
        let mut measure = |text: &str, size: f32| (text.chars().count() as f32 * size * 0.6, size);
        for (w, h, layout) in [
            (1600, 900, LayoutKind::Focus),
            (1280, 720, LayoutKind::Grid3x2),
            (1920, 1080, LayoutKind::Grid2x3),
        ] {
            let frame = FrameInput {
                tiles: tiles.clone(),
                status: StatusInfo::default(),
                view: super::super::ViewState {
                    layout,
                    ..Default::default()
                },
            };
            let arr = frame.view.arrange(6, w, h);
            let mut scene = Scene::default();
            build(&frame, &arr, &mut measure, &mut scene);
            for slot in &arr.slots {
                let title = tiles[slot.tile].def.title;
                let t = scene.text.iter().find(|t| t.text == title).expect("title");
                let r = scene
                    .text
                    .iter()
                    .find(|t| {
                        t.text.ends_with("pkt/s")
                            && t.live
                            && slot.region.contains(t.x as i32 - 1, t.y as i32)
                    })
                    .expect("rate");
                let rate_left = r.x - measure(&r.text, r.size).0;
                let title_end = t.clip.expect("title clipped")[2] as f32;
                assert!(
                    title_end <= rate_left,
                    "{w}x{h} {layout}: title to {title_end}, rate from {rate_left}: {}",
                    r.text
                );
                assert!(
                    rate_left >= slot.region.x as f32 && r.x <= slot.region.right() as f32,
                    "{w}x{h}: {} out of {:?}",
                    r.text,
                    slot.region
                );
            }
        }
    }

    #[test]
    fn times_since_read_well() {
        assert_eq!(ago(8.7), "8 s");
        assert_eq!(ago(75.0), "1 min");
        assert_eq!(ago(7300.0), "2 h");
        assert_eq!(ago(3.0 * 86_400.0), "3 d");
        assert_eq!(ago(-4.0), "0 s");
        assert_eq!(ago(f64::NAN), "0 s");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(format_rate(3.25), "3.2");
        assert_eq!(format_rate(30123.4), "30,123");
        assert_eq!(format_rate(f64::NAN), "-");
    }

    #[test]
    fn status_line_names_every_field() {
        let s = StatusInfo {
            source: "eth0".into(),
            demo: false,
            packets_per_sec: 30000.0,
            kernel_drops: 233_253,
            interface_drops: 7,
            drop_percent: 0.275,
            half_life: "10 s".into(),
            packet_clock: "12:00:03".into(),
            frames_per_sec: 59.6,
            stalled: false,
            shed: 0,
            peers: String::new(),
            ended_secs: None,
        };
        let t = status_text(&s);
        assert!(!t.contains("shed"), "shed shown only when some were: {t}");
        let with_shed = status_text(&StatusInfo {
            shed: 1234,
            ..s.clone()
        });
        assert!(with_shed.contains("shed 1,234"), "{with_shed}");
        for part in [
            "eth0",
            "30,000 pkt/s",
            "kernel 233,253",
            "interface 7",
            "0.28 %",
            "half-life 10 s",
            "12:00:03",
            "60 fps",
        ] {
            assert!(t.contains(part), "{part} missing from {t}");
        }
    }
}
